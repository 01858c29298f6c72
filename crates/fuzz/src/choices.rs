//! Structured inputs read from the fuzzer's bytes: each target asks for
//! the choices it needs (a byte, a number below n, a string) and gets them
//! from the input in order, zeros once it runs out. The same bytes always
//! make the same input, so a corpus file replays exactly, and a
//! coverage-guided fuzzer's mutations of the bytes are mutations of the
//! structure.

/// Characters a string is mostly made of: what parsers split on, escape or
/// trip over, and some multi-byte ones.
const ALPHABET: &[char] = &[
    'a', 'b', 'z', 'A', 'Z', '0', '1', '9', ' ', '_', '-', '.', ',', ';', ':', '=', '?', '&', '/',
    '\\', '"', '\'', '+', '@', '%', '#', '{', '}', '[', ']', '\t', '\r', '\n', '\0', 'é', '€',
    '😀', '\u{202e}', '\u{feff}', '\u{7f}',
];

#[derive(Debug)]
pub struct Choices<'a> {
    bytes: &'a [u8],
}

impl<'a> Choices<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    pub fn byte(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((first, rest)) => {
                self.bytes = rest;
                *first
            }
            None => 0,
        }
    }

    pub fn flag(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        let wide = usize::from(self.byte()) << 8 | usize::from(self.byte());
        wide % n
    }

    pub fn u64(&mut self) -> u64 {
        (0..8).fold(0, |n, _| (n << 8) | u64::from(self.byte()))
    }

    /// A string of up to `max` characters, mostly from [`ALPHABET`].
    pub fn text(&mut self, max: usize) -> String {
        let len = self.below(max + 1);
        (0..len)
            .map(|_| match self.byte() {
                b if usize::from(b) < ALPHABET.len() * 5 => {
                    ALPHABET[usize::from(b) % ALPHABET.len()]
                }
                _ => char::from_u32(u32::from(self.byte()) << 8 | u32::from(self.byte()))
                    .unwrap_or('x'),
            })
            .collect()
    }

    /// Whatever bytes are left, taken.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }
}
