//! The JSON Schema of the protocol, generated from the frame types.
//!
//! Client frames are described as the server reads them (optional fields may
//! be left out); server frames as the server writes them (a field that is
//! always sent is `required`, even when its value may be null). The committed
//! copies live in `proto/schema/`; a test keeps them equal to these.

use schemars::Schema;
use schemars::generate::SchemaSettings;

use crate::{ClientFrame, ServerFrame};

/// The file name of the committed client-frame schema, under `proto/schema/`.
pub const CLIENT_FRAME_FILE: &str = "client-frame.schema.json";
/// The file name of the committed server-frame schema, under `proto/schema/`.
pub const SERVER_FRAME_FILE: &str = "server-frame.schema.json";

/// Every frame a console may send, as the server accepts it.
pub fn client_frame_schema() -> Schema {
    SchemaSettings::draft2020_12()
        .for_deserialize()
        .into_generator()
        .into_root_schema_for::<ClientFrame>()
}

/// Every frame the server sends, exactly as it writes them.
pub fn server_frame_schema() -> Schema {
    SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<ServerFrame>()
}
