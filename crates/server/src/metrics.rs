//! Prometheus metrics: connections, frames in and out, locks held, errors by
//! code. Counters are plain atomics so the hot path pays one add per batch.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use switchboard_proto::ErrorCode;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CodeLabel {
    code: &'static str,
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Open WebSocket connections.
    pub connections: Gauge,
    /// Client frames received.
    pub frames_in: Counter,
    /// Server frames written to sockets.
    pub frames_out: Counter,
    /// Active roles granted through this node and still held.
    pub locks_held: Gauge,
    /// Conversations with presence state on this node.
    pub rooms: Gauge,
    /// Connections closed because they did not read what was sent to them.
    pub slow_consumers: Counter,
    /// Messages stored (inbound and outbound).
    pub messages: Counter,
    errors: Vec<(ErrorCode, Counter)>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("switchboard");
        let connections = Gauge::default();
        let frames_in = Counter::default();
        let frames_out = Counter::default();
        let locks_held = Gauge::default();
        let rooms = Gauge::default();
        let slow_consumers = Counter::default();
        let messages = Counter::default();
        let errors_family = Family::<CodeLabel, Counter>::default();
        registry.register(
            "connections",
            "open websocket connections",
            connections.clone(),
        );
        registry.register("frames_in", "client frames received", frames_in.clone());
        registry.register("frames_out", "server frames written", frames_out.clone());
        registry.register(
            "locks_held",
            "active roles granted through this node",
            locks_held.clone(),
        );
        registry.register(
            "rooms",
            "conversations with presence on this node",
            rooms.clone(),
        );
        registry.register(
            "slow_consumers",
            "connections closed for not reading",
            slow_consumers.clone(),
        );
        registry.register("messages", "messages stored", messages.clone());
        registry.register(
            "errors",
            "error frames and responses by code",
            errors_family.clone(),
        );
        let errors = ErrorCode::ALL
            .iter()
            .map(|code| {
                let counter = errors_family
                    .get_or_create(&CodeLabel {
                        code: code.as_str(),
                    })
                    .clone();
                (*code, counter)
            })
            .collect();
        Self {
            registry,
            connections,
            frames_in,
            frames_out,
            locks_held,
            rooms,
            slow_consumers,
            messages,
            errors,
        }
    }

    pub fn error(&self, code: ErrorCode) {
        if let Some((_, counter)) = self.errors.iter().find(|(c, _)| *c == code) {
            counter.inc();
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
