//! What every request handler and session shares.

use std::sync::Arc;

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::App;
use crate::config::Config;
use crate::hub::Hub;

#[derive(Debug, Clone)]
pub struct AppState {
    /// The use cases.
    pub app: Arc<App>,
    /// This node's realtime engine (sessions register with it).
    pub hub: Arc<Hub>,
    pub config: Arc<Config>,
    pub ws_config: WebSocketConfig,
    /// Cancelled when shutdown begins.
    pub cancel: CancellationToken,
    /// Every connection task, so shutdown can wait for them.
    pub tracker: TaskTracker,
}

impl AppState {
    /// WebSocket settings sized for many idle connections (tungstenite's
    /// defaults would allocate 128 KiB per connection).
    pub fn websocket_config(config: &Config) -> WebSocketConfig {
        WebSocketConfig::default()
            .read_buffer_size(config.ws_read_buffer_bytes)
            .write_buffer_size(config.ws_write_buffer_bytes)
            .max_write_buffer_size(config.outbox_bytes.max(config.ws_write_buffer_bytes * 2))
            .max_message_size(Some(config.max_frame_bytes))
            .max_frame_size(Some(config.max_frame_bytes))
    }
}
