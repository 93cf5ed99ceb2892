//! The boot manager's `disk` source and the shell's `ls`/`cat`: virtio-blk
//! disks made here (FAT12/16/32 by the `fatfs` crate, wrapped in an MBR or
//! GPT written by hand), BLS entries and PMON `boot.cfg`, and the broken
//! disks that must be reported and passed over.

use std::time::Duration;
use tianshan_qemu_tests::disk::{FIRST_LBA, MIB, SECTOR, fat_volume, mbr_disk, mbr_fat16};
use tianshan_qemu_tests::{CONFIG_FILE, Machine, MachineConfig, gzip, image, image_dir, scratch_file};

/// EFI System Partition type GUID C12A7328-F81F-11D2-BA4B-00A0C93EC93B,
/// in its on-disk byte order.
const ESP_GUID: [u8; 16] =
    [0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11, 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B];

/// A disk with a protective MBR, a GPT (primary and backup) and one EFI
/// System partition per volume (UEFI 2.10 §5.3).
fn gpt_disk(volumes: &[&[u8]]) -> Vec<u8> {
    const ENTRIES: usize = 128;
    const ENTRY_SIZE: usize = 128;
    let entry_sectors = ENTRIES * ENTRY_SIZE / SECTOR;
    let mut layout = Vec::new();
    let mut lba = FIRST_LBA;
    for v in volumes {
        let count = v.len().div_ceil(SECTOR);
        layout.push((lba, count));
        lba += count;
    }
    let total = lba + entry_sectors + 1;
    let mut disk = vec![0u8; total * SECTOR];
    for (v, (start, _)) in volumes.iter().zip(&layout) {
        disk[start * SECTOR..][..v.len()].copy_from_slice(v);
    }
    let mut entries = vec![0u8; ENTRIES * ENTRY_SIZE];
    for (i, (start, count)) in layout.iter().enumerate() {
        let e = &mut entries[i * ENTRY_SIZE..][..ENTRY_SIZE];
        e[0..16].copy_from_slice(&ESP_GUID);
        e[16..32].copy_from_slice(&[i as u8 + 1; 16]);
        e[32..40].copy_from_slice(&(*start as u64).to_le_bytes());
        e[40..48].copy_from_slice(&((start + count - 1) as u64).to_le_bytes());
        for (j, unit) in "boot".encode_utf16().enumerate() {
            e[56 + 2 * j..][..2].copy_from_slice(&unit.to_le_bytes());
        }
    }
    let entries_crc = crc32fast::hash(&entries);
    let last = (total - 1) as u64;
    let header = |my_lba: u64, alternate: u64, entries_lba: u64| {
        let mut h = vec![0u8; SECTOR];
        h[0..8].copy_from_slice(b"EFI PART");
        h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
        h[12..16].copy_from_slice(&92u32.to_le_bytes());
        h[24..32].copy_from_slice(&my_lba.to_le_bytes());
        h[32..40].copy_from_slice(&alternate.to_le_bytes());
        h[40..48].copy_from_slice(&(2 + entry_sectors as u64).to_le_bytes());
        h[48..56].copy_from_slice(&(last - 1 - entry_sectors as u64).to_le_bytes());
        h[56..72].copy_from_slice(&[0x5A; 16]);
        h[72..80].copy_from_slice(&entries_lba.to_le_bytes());
        h[80..84].copy_from_slice(&(ENTRIES as u32).to_le_bytes());
        h[84..88].copy_from_slice(&(ENTRY_SIZE as u32).to_le_bytes());
        h[88..92].copy_from_slice(&entries_crc.to_le_bytes());
        let crc = crc32fast::hash(&h[..92]);
        h[16..20].copy_from_slice(&crc.to_le_bytes());
        h
    };
    let backup_entries = last - entry_sectors as u64;
    disk[SECTOR..2 * SECTOR].copy_from_slice(&header(1, last, 2));
    disk[2 * SECTOR..][..entries.len()].copy_from_slice(&entries);
    disk[backup_entries as usize * SECTOR..][..entries.len()].copy_from_slice(&entries);
    disk[last as usize * SECTOR..][..SECTOR].copy_from_slice(&header(last, 1, backup_entries));
    // Protective MBR: one 0xEE entry covering the disk after LBA 0.
    let pmbr = &mut disk[446..462];
    pmbr[4] = 0xEE;
    pmbr[8..12].copy_from_slice(&1u32.to_le_bytes());
    pmbr[12..16].copy_from_slice(&(last.min(u64::from(u32::MAX)) as u32).to_le_bytes());
    disk[510] = 0x55;
    disk[511] = 0xAA;
    disk
}

/// The ROM with `disk` attached and `config` as the firmware configuration.
fn machine(test: &str, disk: &[u8], config: &str) -> Machine {
    let mut cfg = MachineConfig::rom(image_dir().join("firmware.rom"));
    cfg.fw_cfg_strings.retain(|(n, _)| n != CONFIG_FILE);
    cfg.config_file(scratch_file(test, "config", config.as_bytes()));
    cfg.disks.push(scratch_file(test, "disk.img", disk));
    Machine::start(&cfg)
}

#[test]
fn bls_entry_boots_with_its_options() {
    let kernel = image("kernel.stripped.elf");
    let entry = b"title   Tianshan from disk\nversion 0.1.0\nlinux   /tianshan/kernel.elf\noptions hello=disk\noptions quiet\ninitrd  /tianshan/initrd.img\n";
    let initrd = b"an initrd a Tianshan kernel does not take".to_vec();
    let disk = mbr_fat16(&[
        ("loader/entries/tianshan.conf", entry),
        ("tianshan/kernel.elf", &kernel),
        ("tianshan/initrd.img", &initrd),
    ]);
    let mut m = machine("bls_entry_boots_with_its_options", &disk, "bootdelay=0");
    m.expect("boot: fwcfg: no opt/tianshan/kernel in fw_cfg");
    m.expect("boot: disk: disk0: virtio-blk 00:01.0, ");
    m.expect("boot: disk: disk0p1: FAT16 file system");
    m.expect(&format!(
        "boot: disk: /loader/entries/tianshan.conf: linux disk0p1:/tianshan/kernel.elf ({} bytes)",
        kernel.len()
    ));
    m.expect(&format!(
        "boot: disk: /loader/entries/tianshan.conf: initrd /tianshan/initrd.img ({} bytes)",
        initrd.len()
    ));
    m.expect("loader: disk0p1:/tianshan/kernel.elf:");
    m.expect("boot: disk0p1:/tianshan/kernel.elf: initrd ignored (a Tianshan kernel takes none)");
    m.expect("Tianshan kernel 0.1.0");
    m.expect("command line: hello=disk quiet");
    m.expect("tianshan> ");
    m.refute("loader: rom:kernel");
}

#[test]
fn missing_kernel_is_reported_and_the_next_entry_boots() {
    let kernel = image("kernel.stripped.elf");
    // Without sort keys, entries sort by id, highest first: z-broken first.
    let disk = mbr_fat16(&[
        ("loader/entries/z-broken.conf", b"title Broken\nlinux /vmlinux-6.1\noptions which=broken\n"),
        ("loader/entries/a-good.conf", b"title Good\nlinux /kernel.elf\noptions which=good\n"),
        ("kernel.elf", &kernel),
    ]);
    let mut m = machine("missing_kernel_is_reported_and_the_next_entry_boots", &disk, "bootdelay=0");
    m.expect("boot: disk: /loader/entries/z-broken.conf: linux /vmlinux-6.1: file not found");
    m.expect("loader: disk0p1:/kernel.elf:");
    m.expect("command line: which=good");
    m.expect("tianshan> ");
}

#[test]
fn configured_default_entry_goes_first() {
    let kernel = image("kernel.stripped.elf");
    let disk = mbr_fat16(&[
        ("loader/entries/b.conf", b"title Second\nlinux /kernel.elf\noptions entry=b\n"),
        ("loader/entries/a.conf", b"title First\nlinux /kernel.elf\noptions entry=a\n"),
        ("kernel.elf", &kernel),
    ]);
    let mut m = machine("configured_default_entry_goes_first", &disk, "bootdelay=0\ndefault=First");
    m.expect("command line: entry=a");
    m.expect("tianshan> ");
}

#[test]
fn bad_kernel_entry_falls_to_the_next_entry() {
    let kernel = image("kernel.stripped.elf");
    let disk = mbr_fat16(&[
        ("loader/entries/z-junk.conf", b"linux /junk.elf\n"),
        ("loader/entries/a-good.conf", b"linux /kernel.elf\noptions which=good\n"),
        ("junk.elf", &[0x42; 3000]),
        ("kernel.elf", &kernel),
    ]);
    let mut m = machine("bad_kernel_entry_falls_to_the_next_entry", &disk, "bootdelay=0");
    m.expect("boot: disk0p1:/junk.elf: not an ELF file");
    m.expect("boot: disk: /loader/entries/z-junk.conf: linux /junk.elf: kernel refused");
    m.expect("command line: which=good");
    m.expect("tianshan> ");
}

#[test]
fn pmon_boot_cfg_on_gpt_fat32_boots_a_gzip_kernel() {
    let kernel = gzip(&image("kernel.stripped.elf"));
    let cfg = b"default 1\ntimeout 3\n\ntitle Missing\n  kernel (wd0,0)/boot/nothing\n  args which=missing\n\ntitle Tianshan PMON\n  kernel (wd0,0)/boot/vmlinuz\n  initrd (wd0,0)/boot/initrd.img\n  args console=ttyS0 pmon=yes\n";
    let volume = fat_volume(
        40 * MIB,
        fatfs::FatType::Fat32,
        &[("boot/boot.cfg", cfg), ("boot/vmlinuz", &kernel), ("boot/initrd.img", b"initrd bytes")],
    );
    let disk = gpt_disk(&[&volume]);
    let mut m = machine("pmon_boot_cfg_on_gpt_fat32_boots_a_gzip_kernel", &disk, "bootdelay=0");
    m.expect("boot: disk: disk0p1: FAT32 file system");
    m.expect("boot: disk: /boot/boot.cfg: entry 1 'Tianshan PMON': kernel disk0p1:/boot/vmlinuz");
    m.expect("initrd (wd0,0)/boot/initrd.img (12 bytes)");
    m.expect("loader: gzip image");
    m.expect("command line: console=ttyS0 pmon=yes");
    m.expect("tianshan> ");
}

#[test]
fn pmon_entry_on_another_partition() {
    let kernel = image("kernel.stripped.elf");
    let first = fat_volume(
        16 * MIB,
        fatfs::FatType::Fat16,
        &[("boot/boot.cfg", b"title Elsewhere\n  kernel (wd0,1)/vmlinux\n  args part=2\n")],
    );
    let second = fat_volume(16 * MIB, fatfs::FatType::Fat16, &[("vmlinux", &kernel)]);
    let disk = mbr_disk(&[(0x0E, &first), (0x0E, &second)]);
    let mut m = machine("pmon_entry_on_another_partition", &disk, "bootdelay=0");
    m.expect("boot: disk: disk0p2: no boot entries (/loader/entries/*.conf, /boot/boot.cfg or /boot.cfg)");
    m.expect("loader: disk0p2:/vmlinux:");
    m.expect("command line: part=2");
    m.expect("tianshan> ");
}

#[test]
fn whole_disk_fat12_boots() {
    let kernel = image("kernel.stripped.elf");
    let disk = fat_volume(
        4 * MIB,
        fatfs::FatType::Fat12,
        &[("loader/entries/floppy.conf", b"linux /kernel.elf\noptions floppy=1\n"), ("kernel.elf", &kernel)],
    );
    let mut m = machine("whole_disk_fat12_boots", &disk, "bootdelay=0");
    m.expect("boot: disk: disk0: FAT12 file system");
    m.expect("loader: disk0:/kernel.elf:");
    m.expect("command line: floppy=1");
    m.expect("tianshan> ");
}

#[test]
fn disk_without_partition_table_falls_through_to_rom() {
    let mut m = machine("disk_without_partition_table_falls_through_to_rom", &vec![0u8; MIB], "bootdelay=0");
    m.expect(
        "boot: disk: disk0: disk has no partition table (no 0x55AA signature at byte 510 of sector 0; found 0x0000)",
    );
    m.expect("boot: disk: nothing booted from 1 disk (reasons above)");
    m.expect("loader: rom:kernel:");
    m.expect("tianshan> ");
}

/// Byte offset of the FAT16 volume's first FAT and the first cluster of
/// the file whose 8.3 name is `short` (found by its directory entry).
fn fat16_first_cluster(volume: &[u8], short: &[u8; 11]) -> (usize, u16) {
    let reserved = u16::from_le_bytes([volume[14], volume[15]]) as usize;
    let at = volume.windows(11).position(|w| w == short).expect("directory entry");
    (reserved * SECTOR, u16::from_le_bytes([volume[at + 26], volume[at + 27]]))
}

#[test]
fn corrupt_boot_sector_falls_through_to_rom() {
    let kernel = image("kernel.stripped.elf");
    let mut volume = fat_volume(
        16 * MIB,
        fatfs::FatType::Fat16,
        &[("loader/entries/a.conf", b"linux /kernel.elf\n"), ("kernel.elf", &kernel)],
    );
    volume[13] = 0; // BPB_SecPerClus
    let disk = mbr_disk(&[(0x0E, &volume)]);
    let mut m = machine("corrupt_boot_sector_falls_through_to_rom", &disk, "bootdelay=0");
    m.expect("boot: disk: disk0p1: not a FAT file system (sectors per cluster 0 is not a power of two)");
    m.expect("boot: disk: disk0: nothing to boot");
    m.expect("loader: rom:kernel:");
    m.expect("tianshan> ");
}

#[test]
fn looped_fat_chain_falls_through_to_rom() {
    let kernel = image("kernel.stripped.elf");
    let mut volume = fat_volume(
        16 * MIB,
        fatfs::FatType::Fat16,
        &[("loader/entries/a.conf", b"linux /kernel.elf\n"), ("kernel.elf", &kernel)],
    );
    // The kernel's first cluster now links back to itself.
    let (fat, cluster) = fat16_first_cluster(&volume, b"KERNEL  ELF");
    volume[fat + 2 * cluster as usize..][..2].copy_from_slice(&cluster.to_le_bytes());
    let disk = mbr_disk(&[(0x0E, &volume)]);
    let mut m = machine("looped_fat_chain_falls_through_to_rom", &disk, "bootdelay=0");
    m.expect(&format!(
        "boot: disk: /loader/entries/a.conf: linux /kernel.elf: corrupt FAT: the cluster chain from cluster {cluster} loops"
    ));
    m.expect("boot: disk: nothing booted from 1 disk (reasons above)");
    m.expect("loader: rom:kernel:");
    m.expect("tianshan> ");
}

#[test]
fn shell_lists_and_prints_files() {
    let big: Vec<u8> = (0..70_000u32).map(|i| b"0123456789abcdef\n"[i as usize % 17]).collect();
    let disk = mbr_fat16(&[
        ("loader/entries/tianshan.conf", b"title Tianshan test\nlinux /kernel.elf\n"),
        ("boot/boot.cfg", b"title PMON\n  kernel /boot/vmlinux\n"),
        ("A-Long-File-Name-For-LFN.txt", b"long names work\n"),
        ("big.txt", &big),
    ]);
    let mut m = machine("shell_lists_and_prints_files", &disk, "bootdelay=0\nbootorder=fwcfg");
    m.expect("tianshan-fw> ");
    m.send_line("ls");
    m.expect("<dir>  loader/");
    m.expect("A-Long-File-Name-For-LFN.txt");
    m.expect("disk0p1:/: 2 file(s), 2 directory(ies)");
    m.send_line("ls /loader/entries");
    m.expect("tianshan.conf");
    m.send_line("cat /LOADER/Entries/tianshan.conf");
    m.expect("title Tianshan test");
    m.send_line("cat /boot/boot.cfg");
    m.expect("kernel /boot/vmlinux");
    m.send_line("cat /a-long-file-name-for-lfn.TXT");
    m.expect("long names work");
    m.send_line("cat /big.txt");
    m.expect("cat: /big.txt: showed the first 65536 of 70000 bytes (cat prints at most 65536)");
    m.send_line("cat /nope.txt");
    m.expect("cat: /nope.txt: no such file or directory");
    m.send_line("cat /loader");
    m.expect("cat: /loader: is a directory");
    m.send_line("ls /boot/boot.cfg/x");
    m.expect("ls: /boot/boot.cfg/x: not a directory");
    m.send_line("cat");
    m.expect("usage: cat <path>");
    m.send_line("ls a b");
    m.expect("usage: ls [path]");
    m.send_line("poweroff");
    assert_eq!(m.wait_exit(Duration::from_secs(20)).code(), Some(0));
}

#[test]
fn shell_without_a_disk() {
    let mut cfg = MachineConfig::rom(image_dir().join("firmware.rom"));
    cfg.config_file(scratch_file("shell_without_a_disk", "config", b"bootdelay=0\nbootorder=disk"));
    let mut m = Machine::start(&cfg);
    m.expect("boot: disk: no virtio-blk disk");
    m.expect("tianshan-fw> ");
    m.send_line("ls");
    m.expect("ls: no disk: PCI discovery found no virtio-blk device");
    m.send_line("cat /boot/boot.cfg");
    m.expect("cat: no disk: PCI discovery found no virtio-blk device");
}
