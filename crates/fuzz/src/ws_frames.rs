//! The frame meter reads the header of every frame a client sends, under
//! tungstenite, to charge continuation frames to the flood guard. It must
//! find exactly the frames tungstenite finds, however the bytes are split
//! into reads: a header it misreads would make it skip the wrong number of
//! payload bytes, and from there count garbage (letting a flood of
//! fragments through, or closing an honest client).

use std::io::Cursor;

use switchboard_server::ws::meter::FrameMeter;
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

use crate::choices::Choices;

/// The continuation frames tungstenite finds in `stream`, reading headers
/// and skipping payloads, and how many bytes of it a connection gets to
/// send: all of them, or up to a header tungstenite refuses (a reserved
/// opcode), where it ends the connection.
fn continuations_by_tungstenite(stream: &[u8]) -> (u32, usize) {
    let mut cursor = Cursor::new(stream);
    let mut found = 0;
    loop {
        let start = cursor.position();
        match FrameHeader::parse(&mut cursor) {
            Ok(Some((header, payload_len))) => {
                if header.opcode == OpCode::Data(Data::Continue) {
                    found += 1;
                }
                let next = cursor.position().saturating_add(payload_len);
                if next >= stream.len() as u64 {
                    return (found, stream.len());
                }
                cursor.set_position(next);
            }
            Ok(None) => return (found, stream.len()),
            Err(_) => return (found, start as usize),
        }
    }
}

/// Frames as a client would send them (any opcode, RSV bits, mask or none,
/// each length encoding, a payload shorter than declared at the end), and
/// raw bytes after them.
fn stream(choices: &mut Choices<'_>) -> Vec<u8> {
    let mut bytes = Vec::new();
    for _ in 0..choices.below(12) {
        let first = choices.byte();
        let masked = choices.flag();
        let len = match choices.below(8) {
            0 => choices.below(1 << 17),
            1 => choices.u64() as usize % (1 << 20),
            _ => choices.below(126),
        };
        let mask = if masked { 0x80 } else { 0 };
        bytes.push(first);
        match (len, choices.flag()) {
            (0..=125, false) => bytes.push(mask | len as u8),
            (0..=0xffff, _) => {
                bytes.push(mask | 126);
                bytes.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                bytes.push(mask | 127);
                bytes.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        if masked {
            bytes.extend_from_slice(&[choices.byte(), 1, 2, 3]);
        }
        bytes.resize(bytes.len() + len.min(4096), choices.byte());
    }
    bytes.extend_from_slice(choices.rest());
    bytes
}

#[test]
fn the_meter_counts_the_continuations_tungstenite_reads() {
    fuzz!(|choices| {
        let split_seed = choices.u64();
        let mut stream = stream(&mut choices);
        let (expected, sent) = continuations_by_tungstenite(&stream);
        stream.truncate(sent);

        let mut whole = FrameMeter::new((), u32::MAX);
        whole.observe(&stream);
        assert_eq!(whole.take_continuations(), expected, "read at once");

        // The same bytes in reads of 1 to 16 bytes, as a slow network
        // delivers them.
        let mut split = FrameMeter::new((), u32::MAX);
        let mut rest = stream.as_slice();
        let mut seed = split_seed;
        while !rest.is_empty() {
            let take = ((seed & 0xf) as usize + 1).min(rest.len());
            seed = seed.rotate_right(4) ^ (take as u64);
            split.observe(&rest[..take]);
            rest = &rest[take..];
        }
        assert_eq!(split.take_continuations(), expected, "read in pieces");
    });
}
