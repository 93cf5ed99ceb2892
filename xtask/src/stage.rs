//! The firmware's main stage, compressed in the ROM.
//!
//! The linker lays the firmware out as it runs: the reset code and the BEV
//! vectors in ROM (`.text.rom`), the main stage (code, read-only data and
//! data, `__reloc_start..__reloc_end`) in RAM with its load address in ROM
//! at `__reloc_lma` (linker/firmware.ld). [`pack`] replaces that
//! uncompressed copy with an LZ4 block (`lz4_flex`), which the reset code
//! unpacks into RAM (`arch/mips64` `__lz4_unpack_main_stage_asm`), and
//! writes where the image now ends into `__tianshan_rom_image_end`, the
//! ROM word the firmware finds its payload directory by.
//!
//! LZ4 rather than deflate: the reset code must unpack about 250 KiB in a
//! few hundred thousand instructions, from ROM, with no stack; an LZ4
//! sequence is a handful of loads and copies.
//!
//! The unpacker's cost is about 40 instructions a sequence plus half an
//! instruction a byte, so a match of 5 to 7 bytes, which saves 2 to 4 ROM
//! bytes, costs more boot time than it is worth. [`fold_short_matches`]
//! turns such matches back into literals after `lz4_flex` has compressed
//! (it has no setting for a longer minimum match): the stream stays a
//! valid LZ4 block, a few percent larger, with about 40% fewer sequences.

use crate::{Result, fail};
use object::{Object, ObjectSymbol};

/// Shortest match the packed stage keeps; shorter ones become literals
/// (`cargo xtask bench boot` measured 7 as the best trade of ROM bytes
/// against unpack instructions).
const MIN_MATCH_KEPT: usize = 7;

/// Symbols the packer reads from the firmware ELF.
const RELOC_LMA: &str = "__reloc_lma";
const RELOC_START: &str = "__reloc_start";
const RELOC_END: &str = "__reloc_end";
const IMAGE_END_WORD: &str = "__tianshan_rom_image_end";

/// The ROM image of the firmware with its main stage compressed.
pub struct Packed {
    /// Reset code, then the compressed main stage.
    pub image: Vec<u8>,
    /// Bytes of the main stage as it runs in RAM.
    pub stage_len: usize,
    /// Bytes of it compressed.
    pub packed_len: usize,
}

fn symbol(file: &object::File<'_>, name: &str) -> Result<u64> {
    file.symbols().find(|s| s.name() == Ok(name)).map(|s| s.address()).ok_or(crate::Error(format!(
        "the firmware ELF has no symbol {name} (linker/firmware.ld, arch/mips64 entry.rs)"
    )))
}

/// Compresses the main stage of `flat` (the firmware as [`crate::build::flat_rom`]
/// lays it out from `elf`) and patches the image-end word.
pub fn pack(flat: &[u8], elf: &[u8], rom_base: u64) -> Result<Packed> {
    let file = object::File::parse(elf)?;
    let lma = symbol(&file, RELOC_LMA)?;
    let (start, end) = (symbol(&file, RELOC_START)?, symbol(&file, RELOC_END)?);
    let word = symbol(&file, IMAGE_END_WORD)?;
    let offset = lma.wrapping_sub(rom_base) as usize;
    let Some(stage_len) = end.checked_sub(start).map(|n| n as usize) else {
        fail!("{RELOC_END} ({end:#x}) lies below {RELOC_START} ({start:#x})");
    };
    let Some(stage) = flat.get(offset..offset + stage_len) else {
        fail!(
            "the main stage ({stage_len} bytes at ROM offset {offset:#x}) is not inside the {}-byte flat image",
            flat.len()
        );
    };
    let word_at = word.wrapping_sub(rom_base) as usize;
    if word_at + 8 > offset {
        fail!(
            "{IMAGE_END_WORD} at ROM offset {word_at:#x} is not in the reset code before the main stage ({offset:#x})"
        );
    }
    let packed = fold_short_matches(&lz4_flex::block::compress(stage), MIN_MATCH_KEPT)?;
    // The reset code trusts the stream; check it here, where a mistake is
    // a build error rather than a machine that does not start.
    match lz4_flex::block::decompress(&packed, stage_len) {
        Ok(back) if back == stage => {}
        Ok(_) => fail!("LZ4 round trip of the main stage gave different bytes"),
        Err(e) => fail!("LZ4 round trip of the main stage failed: {e}"),
    }
    let mut image = flat[..offset].to_vec();
    image.extend_from_slice(&packed);
    let image_end = image.len() as u64;
    image[word_at..word_at + 8].copy_from_slice(&image_end.to_le_bytes());
    Ok(Packed { image, stage_len, packed_len: packed.len() })
}

/// One LZ4 sequence: literals, then (except in the last) a match.
struct Sequence<'a> {
    literals: &'a [u8],
    /// Offset back from the output position, and length.
    matched: Option<(u16, usize)>,
}

/// Reads an LZ4 length: the token's nibble, plus the bytes that follow
/// while the nibble (then each byte) is at its maximum.
fn read_length(block: &[u8], at: &mut usize, nibble: u8) -> Result<usize> {
    let mut n = usize::from(nibble);
    if nibble == 15 {
        loop {
            let Some(&b) = block.get(*at) else { fail!("LZ4 block ends inside a length at byte {at}") };
            *at += 1;
            n += usize::from(b);
            if b != 255 {
                break;
            }
        }
    }
    Ok(n)
}

/// Splits an LZ4 block into its sequences.
fn sequences(block: &[u8]) -> Result<Vec<Sequence<'_>>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < block.len() {
        let token = block[at];
        at += 1;
        let literal_len = read_length(block, &mut at, token >> 4)?;
        let Some(literals) = block.get(at..at + literal_len) else {
            fail!("LZ4 block ends inside {literal_len} literals at byte {at}")
        };
        at += literal_len;
        if at == block.len() {
            out.push(Sequence { literals, matched: None });
            break;
        }
        let Some(offset) = block.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]])) else {
            fail!("LZ4 block ends inside a match offset at byte {at}")
        };
        at += 2;
        let match_len = read_length(block, &mut at, token & 15)? + 4;
        out.push(Sequence { literals, matched: Some((offset, match_len)) });
    }
    Ok(out)
}

/// Appends an LZ4 length's extension bytes (the part past the nibble).
fn push_length_bytes(out: &mut Vec<u8>, n: usize) {
    if n >= 15 {
        let mut rest = n - 15;
        while rest >= 255 {
            out.push(255);
            rest -= 255;
        }
        out.push(rest as u8);
    }
}

/// Re-encodes `block` with every match shorter than `min_match` turned
/// into literals (the bytes it would have copied, which the literals
/// before it and the output so far give).
fn fold_short_matches(block: &[u8], min_match: usize) -> Result<Vec<u8>> {
    let mut output: Vec<u8> = Vec::new();
    let mut out = Vec::with_capacity(block.len() + block.len() / 8);
    // Literals gathered for the next sequence written, as a range of `output`.
    let mut pending = 0;
    let emit = |out: &mut Vec<u8>, literals: &[u8], matched: Option<(u16, usize)>| {
        let lit_nibble = literals.len().min(15) as u8;
        let match_nibble = matched.map_or(0, |(_, n)| (n - 4).min(15) as u8);
        out.push(lit_nibble << 4 | match_nibble);
        push_length_bytes(out, literals.len());
        out.extend_from_slice(literals);
        if let Some((offset, n)) = matched {
            out.extend_from_slice(&offset.to_le_bytes());
            push_length_bytes(out, n - 4);
        }
    };
    for seq in sequences(block)? {
        output.extend_from_slice(seq.literals);
        let Some((offset, len)) = seq.matched else { break };
        let Some(from) = output.len().checked_sub(usize::from(offset)).filter(|_| offset != 0) else {
            fail!("LZ4 match offset {offset} reaches before the start of the output ({} bytes)", output.len())
        };
        if len >= min_match {
            emit(&mut out, &output[pending..], Some((offset, len)));
        }
        for i in 0..len {
            let b = output[from + i];
            output.push(b);
        }
        if len >= min_match {
            pending = output.len();
        }
    }
    emit(&mut out, &output[pending..], None);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes with short and long repeats, as code has.
    fn sample() -> Vec<u8> {
        let mut v = Vec::new();
        let mut x: u32 = 12345;
        for i in 0..20_000u32 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            match x >> 29 {
                0..=2 => v.push((x >> 8) as u8),
                3..=5 if v.len() > 64 => {
                    let back = 1 + (x >> 10) as usize % 64;
                    let n = 4 + (x >> 20) as usize % 6;
                    for _ in 0..n {
                        v.push(v[v.len() - back]);
                    }
                }
                _ => v.extend_from_slice(&i.to_le_bytes()),
            }
        }
        v
    }

    #[test]
    fn folding_keeps_the_bytes_and_drops_short_matches() {
        let data = sample();
        let packed = lz4_flex::block::compress(&data);
        let folded = fold_short_matches(&packed, MIN_MATCH_KEPT).unwrap();
        assert_eq!(lz4_flex::block::decompress(&folded, data.len()).unwrap(), data);
        let seqs = sequences(&folded).unwrap();
        assert!(seqs.iter().all(|s| s.matched.is_none_or(|(_, n)| n >= MIN_MATCH_KEPT)));
        let before = sequences(&packed).unwrap().len();
        assert!(seqs.len() < before, "{} sequences, {before} before", seqs.len());
    }

    #[test]
    fn folding_with_the_format_minimum_changes_nothing() {
        let data = sample();
        let packed = lz4_flex::block::compress(&data);
        assert_eq!(fold_short_matches(&packed, 4).unwrap(), packed);
    }

    #[test]
    fn a_truncated_block_is_an_error() {
        let packed = lz4_flex::block::compress(&sample());
        let cut = &packed[..packed.len() / 2];
        // Either it ends inside a field, or its last sequence has a match
        // reaching too far: never a panic.
        let _ = fold_short_matches(cut, MIN_MATCH_KEPT);
        assert!(fold_short_matches(&[0xf0], MIN_MATCH_KEPT).is_err());
    }
}
