//! The contract of the `Store` port, run against every backend.
//!
//! Each test is an `async fn(Arc<dyn Store>)` written once; [`contract_tests!`]
//! instantiates it for SQLite (a temp file) and for Postgres (a fresh
//! uuid-named database, dropped afterwards), so both backends pass the same
//! suite and tests run in parallel. The stores read a manual clock that
//! stands still until a test moves it: a test that needs time to pass takes
//! `harness::Clocked` (the store and its clock) and advances the clock
//! instead of sleeping. Postgres is found at
//! `SWITCHBOARD_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`).

/// Instantiates each named test for every backend.
macro_rules! contract_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::harness::run(crate::harness::Backend::Sqlite, super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::harness::run(crate::harness::Backend::Postgres, super::$name).await;
                }
            )*
        }
        mod sim {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::harness::run(crate::harness::Backend::Sim, super::$name).await;
                }
            )*
        }
    };
}

/// Instantiates each named test for every backend, each test given
/// `$nodes` stores on one database (see `harness::run_nodes`).
macro_rules! node_contract_tests {
    ($nodes:expr; $($name:ident),* $(,)?) => {
        mod sqlite_nodes {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::harness::run_nodes(crate::harness::Backend::Sqlite, $nodes, super::$name)
                        .await;
                }
            )*
        }
        mod postgres_nodes {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::harness::run_nodes(
                        crate::harness::Backend::Postgres,
                        $nodes,
                        super::$name,
                    )
                    .await;
                }
            )*
        }
        mod sim_nodes {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::harness::run_nodes(crate::harness::Backend::Sim, $nodes, super::$name)
                        .await;
                }
            )*
        }
    };
}

mod access;
mod access_listing;
mod accounts;
mod audit;
mod clock;
mod connect;
mod contacts;
mod conversations;
mod fixtures;
mod folders;
mod harness;
mod invitations;
mod lifecycle;
mod load_backfill;
mod locks;
mod messages;
mod migration;
mod routing;
mod routing_access;
mod routing_agents;
mod routing_arrivals;
mod routing_counts;
mod routing_load;
mod routing_teams;
mod templates;
mod two_factor;
mod writes;

// API keys (docs/MODULES.md).
mod api_keys;
// webhooks
mod webhooks;
// statistics
mod statistics;
mod statistics_backfill;
// WebSocket tickets (docs/BROWSERS.md).
mod ws_tickets;
