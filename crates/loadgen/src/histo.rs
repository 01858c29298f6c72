//! Latency histograms: HDR histograms in microseconds, carried between
//! processes as base64 of hdrhistogram's V2 serialization.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};

/// The histograms a run fills, by name.
pub mod names {
    pub const SEND_TO_DELIVERY: &str = "send_to_delivery";
    pub const SEND_TO_ACK: &str = "send_to_ack";
    pub const TAKE_TO_LAST_PRESENCE: &str = "take_to_last_presence";
    pub const TAKE_TO_ACK: &str = "take_to_ack";
    pub const POST_TO_EVENT: &str = "post_to_event";
    pub const POST_RESPONSE: &str = "post_response";
    /// The scale part: from the kill of a node to a view without its user,
    /// and to a view in which that user no longer answers.
    pub const KILL_TO_LEAVE: &str = "kill_to_leave";
    pub const KILL_TO_ROLE_FREE: &str = "kill_to_role_free";
}

/// The largest latency recorded, in microseconds (an hour); larger values
/// are recorded as this.
pub const MAX_MICROS: u64 = 3_600_000_000;

/// An empty latency histogram: 1 µs to an hour, three significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds")
}

/// Records a latency given in nanoseconds.
pub fn record_ns(histogram: &mut Histogram<u64>, nanos: u64) {
    histogram.saturating_record((nanos / 1000).clamp(1, MAX_MICROS));
}

pub fn encode(histogram: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    V2Serializer::new()
        .serialize(histogram, &mut bytes)
        .expect("serializing into memory");
    STANDARD.encode(bytes)
}

pub fn decode(text: &str) -> anyhow::Result<Histogram<u64>> {
    let bytes = STANDARD.decode(text)?;
    let histogram: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| anyhow::anyhow!("histogram does not deserialize: {e:?}"))?;
    Ok(histogram)
}

/// Adds `other` into `into`, widening nothing (both share the bounds above).
pub fn merge(into: &mut Histogram<u64>, other: &Histogram<u64>) {
    // Same bounds on both sides: `add` cannot fail short of a bug.
    into.add(other).expect("histograms with the same bounds");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_survives_the_trip_between_processes() {
        let mut h = new_histogram();
        for v in [1_000u64, 2_000_000, 5_000_000_000] {
            record_ns(&mut h, v);
        }
        let back = decode(&encode(&h)).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(back.min(), 1);
        assert_eq!(back.value_at_quantile(0.5), back.highest_equivalent(2_000));
        let mut merged = new_histogram();
        merge(&mut merged, &back);
        merge(&mut merged, &h);
        assert_eq!(merged.len(), 6);
    }
}
