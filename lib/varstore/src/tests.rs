//! The store against a simulated flash that loses power on command.
//!
//! `SimFlash` behaves as NOR flash does: erase sets a block to 0xFF,
//! programming only clears bits (programming a byte twice ANDs the values),
//! and an operation interrupted by a power cut is left in one of three
//! states: not started, a prefix done, or every byte part-way (for a
//! program, some of the bits to clear still set; for an erase, some of the
//! bits to set still clear). After the cut every operation fails, as on a
//! machine that is off; "rebooting" reopens the store on the same bytes.

use super::*;
use std::vec;
use std::vec::Vec;

/// How the operation running at the cut is left.
#[derive(Clone, Copy, Debug)]
enum Interrupted {
    /// Not started.
    Untouched,
    /// The first half of its bytes done, the rest untouched.
    Prefix,
    /// Every byte part-way, bits chosen by a seeded generator.
    Partial(u64),
}

#[derive(Debug, PartialEq, Eq)]
enum SimError {
    PowerLost,
    Misaligned(&'static str, u64),
    NotErased(u64),
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

struct SimFlash {
    bytes: Vec<u8>,
    erase_block: u32,
    granule: u32,
    /// Operations (one erase of one block, one program of one granule)
    /// that still succeed before the power goes; `None`: never.
    ops_left: Option<usize>,
    interrupted: Interrupted,
    /// Operations done since the counter was last reset.
    ops: usize,
    powered: bool,
    /// When set, programming a byte that is not erased is an error (strict
    /// NOR without multi-program), to catch a granule written twice.
    strict: bool,
}

/// A small xorshift generator: the same seed gives the same bits.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

impl SimFlash {
    fn new(size: usize, erase_block: u32, granule: u32) -> Self {
        SimFlash {
            bytes: vec![ERASED; size],
            erase_block,
            granule,
            ops_left: None,
            interrupted: Interrupted::Untouched,
            ops: 0,
            powered: true,
            strict: true,
        }
    }

    /// Cuts the power after `n` more operations succeed.
    fn cut_after(&mut self, n: usize, how: Interrupted) {
        self.ops_left = Some(n);
        self.interrupted = how;
    }

    /// Power back on, no cut pending: the bytes stay as they are.
    fn reboot(&mut self) {
        self.powered = true;
        self.ops_left = None;
        self.ops = 0;
    }

    /// Counts an operation; false if the power goes during it.
    fn tick(&mut self) -> Result<bool, SimError> {
        if !self.powered {
            return Err(SimError::PowerLost);
        }
        self.ops += 1;
        match self.ops_left {
            Some(0) => {
                self.powered = false;
                Ok(false)
            }
            Some(ref mut n) => {
                *n -= 1;
                Ok(true)
            }
            None => Ok(true),
        }
    }

    /// Applies `target` to `range` as an interrupted operation would.
    /// `erase`: bits go towards 1; otherwise towards 0.
    fn interrupt(&mut self, at: usize, target: &[u8], erase: bool) {
        match self.interrupted {
            Interrupted::Untouched => {}
            Interrupted::Prefix => {
                let half = target.len() / 2;
                for (i, &t) in target[..half].iter().enumerate() {
                    self.bytes[at + i] = if erase { t } else { self.bytes[at + i] & t };
                }
            }
            Interrupted::Partial(seed) => {
                let mut state = seed | 1;
                for (i, &t) in target.iter().enumerate() {
                    let mask = next(&mut state) as u8;
                    let old = self.bytes[at + i];
                    // Only some of the bits that should change did.
                    self.bytes[at + i] = if erase { old | (t & mask) } else { old & (t | !mask) };
                }
            }
        }
    }
}

impl Flash for SimFlash {
    type Error = SimError;

    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn erase_block(&self) -> u32 {
        self.erase_block
    }

    fn program_granule(&self) -> u32 {
        self.granule
    }

    fn read(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), SimError> {
        if !self.powered {
            return Err(SimError::PowerLost);
        }
        let at = offset as usize;
        buf.copy_from_slice(&self.bytes[at..at + buf.len()]);
        Ok(())
    }

    fn erase(&mut self, offset: u64) -> Result<(), SimError> {
        if !offset.is_multiple_of(u64::from(self.erase_block)) {
            return Err(SimError::Misaligned("erase", offset));
        }
        let at = offset as usize;
        let len = self.erase_block as usize;
        if !self.tick()? {
            let erased = vec![ERASED; len];
            self.interrupt(at, &erased, true);
            return Err(SimError::PowerLost);
        }
        self.bytes[at..at + len].fill(ERASED);
        Ok(())
    }

    fn program(&mut self, offset: u64, data: &[u8]) -> Result<(), SimError> {
        if !offset.is_multiple_of(u64::from(self.granule)) || data.len() != self.granule as usize {
            return Err(SimError::Misaligned("program", offset));
        }
        let at = offset as usize;
        if self.strict && self.bytes[at..at + data.len()].iter().any(|&b| b != ERASED) {
            return Err(SimError::NotErased(offset));
        }
        if !self.tick()? {
            self.interrupt(at, data, false);
            return Err(SimError::PowerLost);
        }
        for (b, &d) in self.bytes[at..at + data.len()].iter_mut().zip(data) {
            *b &= d;
        }
        Ok(())
    }
}

const KIB: usize = 1024;

/// Opens the store and returns what it loaded.
fn load(flash: SimFlash) -> (Store<SimFlash>, Opened, Vec<u8>) {
    let mut buf = vec![0u8; 64 * KIB];
    let (store, opened) = Store::open(flash, &mut buf).expect("open");
    let payload = match opened.loaded {
        Some(_) => buf[..opened.length].to_vec(),
        None => Vec::new(),
    };
    (store, opened, payload)
}

/// Settings text of generation `n`, of a length that varies with `n` so
/// that old and new differ in size too.
fn settings(n: usize) -> Vec<u8> {
    let mut s = format!("bootorder = disk,rom\nbootdelay = {n}\n");
    for i in 0..(n % 7) * 40 {
        s += &format!("tianshan.note{i} = generation {n}\n");
    }
    s.into_bytes()
}

#[test]
fn a_fresh_store_is_empty_without_complaint() {
    let (_, opened, payload) = load(SimFlash::new(16 * KIB, 4 * KIB as u32, 1));
    assert!(opened.is_fresh());
    assert!(!opened.is_unusable());
    assert!(payload.is_empty());
    assert_eq!(opened.to_string(), "settings store is empty; defaults apply");
}

#[test]
fn saves_alternate_between_copies_and_the_newest_wins() {
    let (mut store, _, _) = load(SimFlash::new(16 * KIB, 4 * KIB as u32, 8));
    for n in 1..=5u64 {
        assert_eq!(store.save(&settings(n as usize), false), Ok(n));
        let (s, opened, payload) = load(store.into_flash());
        assert_eq!(payload, settings(n as usize));
        let expected = if n % 2 == 1 { Copy::A } else { Copy::B };
        assert_eq!(opened.loaded, Some((expected, n)));
        store = s;
    }
    let (_, opened, _) = load(store.into_flash());
    assert_eq!(opened.to_string(), format!("settings from copy A (sequence 5, {} bytes)", settings(5).len()));
}

#[test]
fn the_line_names_the_newest_copy_and_a_damaged_other() {
    let (mut store, _, _) = load(SimFlash::new(16 * KIB, 4 * KIB as u32, 1));
    store.save(b"bootdelay = 1\n", false).unwrap();
    store.save(b"bootdelay = 2\n", false).unwrap();
    let mut flash = store.into_flash();
    // One flipped bit in copy A's payload (sequence 1).
    flash.bytes[HEADER_SIZE + 3] ^= 0x04;
    let (_, opened, payload) = load(flash);
    assert_eq!(payload, b"bootdelay = 2\n");
    let line = opened.to_string();
    assert!(line.starts_with("settings from copy B (sequence 2, 14 bytes); copy A is damaged: CRC "), "{line}");
}

#[test]
fn both_copies_damaged_is_reported_in_one_line_and_defaults_apply() {
    let (mut store, _, _) = load(SimFlash::new(16 * KIB, 4 * KIB as u32, 1));
    store.save(b"bootdelay = 1\n", false).unwrap();
    store.save(b"bootdelay = 2\n", false).unwrap();
    let mut flash = store.into_flash();
    flash.bytes[HEADER_SIZE] ^= 1;
    flash.bytes[8 * KIB + VERSION_AT] = 9;
    let (mut store, opened, payload) = load(flash);
    assert!(opened.is_unusable());
    assert!(payload.is_empty());
    let line = opened.to_string();
    assert!(!line.contains('\n'), "{line}");
    assert!(line.starts_with("no usable settings (copy A damaged: CRC "), "{line}");
    assert!(line.ends_with("copy B damaged: format version 9, this firmware reads 1); defaults apply"), "{line}");
    // A damaged Tianshan store is ours to rewrite: no force needed.
    assert_eq!(store.save(b"bootdelay = 3\n", false), Ok(1));
    assert_eq!(load(store.into_flash()).2, b"bootdelay = 3\n");
}

#[test]
fn foreign_data_is_reported_and_never_overwritten_without_force() {
    let mut flash = SimFlash::new(16 * KIB, 4 * KIB as u32, 1);
    // A FAT boot sector, say: someone pointed the store at a disk.
    flash.bytes[..11].copy_from_slice(b"\xEB\x3C\x90MSWIN4.1");
    let (mut store, opened, _) = load(flash);
    assert_eq!(opened.copies, [CopyState::Foreign, CopyState::Erased]);
    assert_eq!(opened.to_string(), "no usable settings (copy A not a Tianshan store; copy B erased); defaults apply");
    let before = store.flash.bytes.clone();
    assert_eq!(store.save(b"bootdelay = 1\n", false), Err(StoreError::Foreign));
    assert_eq!(store.flash.bytes, before, "a refused save wrote to the flash");
    assert_eq!(store.save(b"bootdelay = 1\n", true), Ok(1));
    assert_eq!(load(store.into_flash()).2, b"bootdelay = 1\n");
}

#[test]
fn hostile_headers_are_damaged_not_trusted() {
    let geometry = Geometry::new(16 * KIB as u64, 4 * KIB as u32, 1).unwrap();
    type HeaderEdit = Box<dyn Fn(&mut [u8])>;
    let cases: Vec<(&str, HeaderEdit, Damage)> = vec![
        (
            "length past the copy",
            Box::new(|h: &mut [u8]| h[LENGTH_AT..LENGTH_AT + 4].copy_from_slice(&u32::MAX.to_le_bytes())),
            Damage::Length { length: u32::MAX, room: geometry.room() as u32 },
        ),
        ("reserved word", Box::new(|h: &mut [u8]| h[RESERVED_AT] = 1), Damage::Reserved(1)),
        ("version", Box::new(|h: &mut [u8]| h[VERSION_AT] = 2), Damage::Version(2)),
    ];
    for (what, edit, damage) in cases {
        let mut flash = SimFlash::new(16 * KIB, 4 * KIB as u32, 1);
        let payload = b"bootdelay = 1\n";
        let mut h = header(1, payload);
        edit(&mut h);
        flash.bytes[..HEADER_SIZE].copy_from_slice(&h);
        flash.bytes[HEADER_SIZE..HEADER_SIZE + payload.len()].copy_from_slice(payload);
        let (_, opened, _) = load(flash);
        assert_eq!(opened.copies[0], CopyState::Damaged(damage), "{what}");
        assert!(opened.loaded.is_none(), "{what}");
    }
    // The last sequence number is never valid, so a store cannot be
    // wedged into wrapping around.
    let mut flash = SimFlash::new(16 * KIB, 4 * KIB as u32, 1);
    let h = header(u64::MAX, b"");
    flash.bytes[..HEADER_SIZE].copy_from_slice(&h);
    assert_eq!(load(flash).1.copies[0], CopyState::Damaged(Damage::Sequence));
    let mut flash = SimFlash::new(16 * KIB, 4 * KIB as u32, 1);
    flash.bytes[..HEADER_SIZE].copy_from_slice(&header(u64::MAX - 1, b""));
    let (mut store, opened, _) = load(flash);
    assert_eq!(opened.loaded, Some((Copy::A, u64::MAX - 1)));
    assert_eq!(store.save(b"x", false), Err(StoreError::SequenceExhausted));
}

#[test]
fn payload_limits() {
    let (mut store, _, _) = load(SimFlash::new(16 * KIB, 4 * KIB as u32, 256));
    let room = store.geometry().room();
    assert_eq!(room, 8 * KIB - 256);
    assert_eq!(store.save(&vec![b'x'; room + 1], false), Err(StoreError::TooLarge { length: room + 1, room }));
    assert!(store.save(&vec![b'x'; room], false).is_ok());
    let mut small = [0u8; 16];
    match Store::open(store.into_flash(), &mut small) {
        Err(StoreError::BufferTooSmall { needed, available: 16 }) => assert_eq!(needed, room),
        other => panic!("expected BufferTooSmall, got {:?}", other.map(|(_, o)| o)),
    }
    // An empty payload is a valid state of its own.
    let (mut store, _, _) = load(SimFlash::new(16 * KIB, 4 * KIB as u32, 1));
    store.save(b"", false).unwrap();
    let (_, opened, payload) = load(store.into_flash());
    assert_eq!((opened.loaded, payload.len()), (Some((Copy::A, 1)), 0));
}

#[test]
fn geometry_errors_name_the_numbers() {
    assert_eq!(
        Geometry::new(16 * KIB as u64, 3000, 1),
        Err(GeometryError::BadUnit { erase_block: 3000, program_granule: 1 })
    );
    assert_eq!(
        Geometry::new(16 * KIB as u64, 4096, 512),
        Err(GeometryError::GranuleTooLarge { program_granule: 512, erase_block: 4096 })
    );
    assert_eq!(Geometry::new(4096, 4096, 1), Err(GeometryError::TooSmall { size: 4096, erase_block: 4096 }));
    let e = StoreError::<SimError>::Geometry(GeometryError::TooSmall { size: 4096, erase_block: 4096 });
    assert_eq!(e.to_string(), "settings store: 4096 bytes cannot hold two copies of whole 4096-byte erase blocks");
    // An odd number of blocks: the last one is left unused.
    let g = Geometry::new(5 * 4096, 4096, 1).unwrap();
    assert_eq!(g.copy_size, 2 * 4096);
    assert_eq!(g.payload_offset, HEADER_SIZE as u32);
    assert_eq!(Geometry::new(64 * KIB as u64, 4096, 64).unwrap().payload_offset, 64);
}

/// The power-cut simulation: for every operation of an update, cut the
/// power there (in each interrupted state), reboot, and check that the
/// store holds exactly the old or exactly the new settings; then that it
/// still takes the next update.
fn power_cut_everywhere(erase_block: u32, granule: u32, old_generation: usize, new_generation: usize) {
    // Room for the largest settings() in each copy.
    let size = 2 * (16 * KIB).next_multiple_of(erase_block as usize);
    let (old, new) = (settings(old_generation), settings(new_generation));
    // How many operations a whole update takes, from an uncut run.
    let prepare = |extra_saves: usize| {
        let (mut store, _, _) = load(SimFlash::new(size, erase_block, granule));
        for g in 0..extra_saves {
            store.save(&settings(100 + g), false).unwrap();
        }
        store.save(&old, false).unwrap();
        let mut flash = store.into_flash();
        flash.reboot();
        flash
    };
    for extra_saves in [0, 1] {
        let (mut store, _, _) = load(prepare(extra_saves));
        store.save(&new, false).unwrap();
        let total = store.into_flash().ops;
        assert!(total > 2, "an update of {} bytes took only {total} operations", new.len());
        let hows = [Interrupted::Untouched, Interrupted::Prefix, Interrupted::Partial(0x9E37_79B9_7F4A_7C15)];
        for cut in 0..=total {
            for how in hows {
                let (mut store, opened, payload) = load(prepare(extra_saves));
                assert_eq!(payload, old, "setup");
                let old_copy = opened.loaded.unwrap().0;
                store.flash.cut_after(cut, how);
                let result = store.save(&new, false);
                let mut flash = store.into_flash();
                assert_eq!(result.is_ok(), cut >= total, "cut after {cut} of {total} ({how:?}): {result:?}");
                flash.reboot();
                let (mut store, opened, payload) = load(flash);
                let context = format!(
                    "erase block {erase_block}, granule {granule}, {extra_saves} earlier saves, cut after {cut} of \
                     {total} operations ({how:?}): {opened}"
                );
                // Always exactly one of the two states; the old one until the
                // last operation (the header granule with the magic, the
                // commit) starts, the new one once it has finished. A cut
                // during the commit itself may leave either.
                assert!(payload == old || payload == new, "{context}: read back neither the old nor the new state");
                if cut >= total {
                    assert_eq!(payload, new, "{context}");
                } else if cut + 1 < total {
                    assert_eq!(payload, old, "{context}: the new state showed before its commit");
                    assert_eq!(opened.loaded.map(|l| l.0), Some(old_copy), "{context}");
                    if extra_saves == 0 {
                        // The copy being written is never taken for a valid one.
                        let other = opened.copies[old_copy.other().index()];
                        assert!(!matches!(other, CopyState::Valid { .. }), "{context}");
                    }
                }
                // The store is still usable: the next update goes through.
                let newer = settings(new_generation + 1);
                store.save(&newer, false).unwrap_or_else(|e| panic!("{context}: the next save failed: {e}"));
                let (_, _, payload) = load(store.into_flash());
                assert_eq!(payload, newer, "{context}: after the next save");
            }
        }
    }
}

#[test]
fn power_cut_byte_granule_small_blocks() {
    // A payload of a few dozen and one of 1.4 KiB: a byte granule makes an
    // operation per byte, and every one of them is a cut point.
    power_cut_everywhere(512, 1, 7, 8);
}

#[test]
fn power_cut_nor_pages() {
    power_cut_everywhere(4096, 256, 5, 6);
}

#[test]
fn power_cut_word_granule_shrinking_payload() {
    // The new settings are shorter than the old ones.
    power_cut_everywhere(1024, 8, 6, 7);
}

#[test]
fn power_cut_during_the_very_first_save_leaves_an_empty_store() {
    let (mut store, _, _) = load(SimFlash::new(8 * KIB, KIB as u32, 16));
    store.save(b"bootdelay = 1\n", false).unwrap();
    let total = store.into_flash().ops;
    for cut in 0..total {
        for how in [Interrupted::Untouched, Interrupted::Prefix, Interrupted::Partial(7)] {
            let (mut store, _, _) = load(SimFlash::new(8 * KIB, KIB as u32, 16));
            store.flash.cut_after(cut, how);
            assert!(store.save(b"bootdelay = 1\n", false).is_err());
            let mut flash = store.into_flash();
            flash.reboot();
            let (mut store, opened, payload) = load(flash);
            assert!(payload.is_empty(), "cut after {cut} ({how:?}): {opened}");
            // What a cut leaves is never mistaken for foreign data, so the
            // next save needs no force.
            assert!(!opened.copies.contains(&CopyState::Foreign), "cut after {cut} ({how:?}): {opened}");
            assert_eq!(store.save(b"bootdelay = 2\n", false), Ok(1), "cut after {cut} ({how:?})");
        }
    }
}
