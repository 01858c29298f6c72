//! Fuzz targets, run by bolero under `cargo test` (the README, "The two
//! commands"): each test replays its committed corpus
//! (`src/__fuzz__/<target>/corpus/`) and any `crashes/` found before, then
//! feeds it random inputs for its time budget: [`BUDGET`] unless
//! `BOLERO_RANDOM_TEST_TIME_MS` says otherwise. A coverage-guided run of
//! one target, which also grows its corpus, is
//! `cargo bolero test -p switchboard-fuzz <target> --sanitizer NONE`.
//!
//! The targets, one per kind of input a stranger controls:
//! - [`ws_frames`]: the frame meter that reads every WebSocket frame
//!   header a client sends, against tungstenite's own header parser;
//! - [`client_frames`]: the JSON client frames of the WebSocket protocol,
//!   through the adapter and the use cases of a live node;
//! - [`head`]: the request-head reader of the accept loop;
//! - [`rest`]: every JSON request body of the REST API, as the OpenAPI
//!   description lists them, through the router of a real server;
//! - [`tokens`]: credentials, WebSocket tickets and invitation links;
//! - [`csv`]: the CSV writer of the statistics export, read back by a
//!   CSV reader.
//!
//! A crash found becomes a named regression test in its target's module.

/// A fuzz target: `$body` runs on each input of the target's corpus, then
/// on random ones for [`BUDGET`], with `$choices` reading the input's
/// bytes. A macro, not a function: bolero names the corpus folder after the
/// test function it is called in.
#[cfg(test)]
macro_rules! fuzz {
    (|$choices:ident| $body:block) => {
        bolero::check!()
            .with_test_time(crate::BUDGET)
            .for_each(|input: &[u8]| {
                let mut $choices = crate::choices::Choices::new(input);
                $body
            })
    };
}

#[cfg(test)]
mod choices;
#[cfg(test)]
mod client_frames;
#[cfg(test)]
mod csv;
#[cfg(test)]
mod head;
#[cfg(test)]
mod rest;
#[cfg(test)]
mod served;
#[cfg(test)]
mod tokens;
#[cfg(test)]
mod ws_frames;

#[cfg(test)]
#[allow(dead_code)]
#[path = "../../server/tests/inprocess/support.rs"]
mod support;

#[cfg(test)]
use std::time::Duration;

/// How long each target feeds random inputs in the test command.
#[cfg(test)]
const BUDGET: Duration = Duration::from_secs(15);

/// A runtime for the targets that drive async code, one per target.
#[cfg(test)]
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
