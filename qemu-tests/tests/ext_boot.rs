//! ext2/ext4 file systems on virtio-blk disks (boot entries, a damaged
//! superblock or inode, the shell's `ls`/`cat`), and the firmware
//! configuration file `/tianshan.cfg` on a disk.
//!
//! The ext file systems are made by e2fsprogs (`mkfs.ext4 -d DIR` fills
//! one from a directory, without root) and put into an MBR; e2fsprogs
//! must be installed (Debian package `e2fsprogs`).

use std::path::Path;
use std::process::Command;
use std::time::Duration;
use tianshan_qemu_tests::disk::e2fs_tool;
use tianshan_qemu_tests::disk::{MBR_FAT16_LBA, MIB, fat_volume, mbr_disk};
use tianshan_qemu_tests::{
    CONFIG_FILE, DEFAULT_TIMEOUT, Machine, MachineConfig, image, image_dir, run_tool, scratch_dir, scratch_file,
};

/// MBR partition type of a Linux file system.
const MBR_LINUX: u8 = 0x83;
/// Byte offset of the ext superblock in its file system.
const SUPERBLOCK: usize = 1024;
/// `s_inodes_per_group`, relative to the superblock.
const S_INODES_PER_GROUP: usize = 0x28;

/// What goes into a file system: files, and symbolic links `(link, target)`.
struct Tree<'a> {
    files: &'a [(&'a str, &'a [u8])],
    links: &'a [(&'a str, &'a str)],
}

impl Tree<'_> {
    fn write(&self, root: &Path) {
        for (path, data) in self.files {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().expect("a parent")).expect("create directory");
            std::fs::write(&p, data).expect("write file");
        }
        for (link, target) in self.links {
            std::os::unix::fs::symlink(target, root.join(link)).expect("create symlink");
        }
    }
}

/// A `size`-byte ext file system made by `mkfs.<kind>` (`ext2`, `ext4`)
/// with `args`, holding `tree`; `edit` runs on the image file (a
/// `debugfs` command, say) before it is read back.
fn ext_volume(test: &str, kind: &str, size: usize, args: &[&str], tree: &Tree<'_>, edit: &[&str]) -> Vec<u8> {
    let root = scratch_dir(test, "root");
    tree.write(&root);
    let img = scratch_dir(test, "img").join("fs.img");
    run_tool(
        Command::new(e2fs_tool(&format!("mkfs.{kind}")))
            .args(["-q", "-F", "-L", "tianshan"])
            .args(args)
            .arg("-d")
            .arg(&root)
            .arg(&img)
            .arg(format!("{}k", size / 1024)),
    );
    if !edit.is_empty() {
        run_tool(Command::new(e2fs_tool("debugfs")).arg("-w").args(edit.iter().flat_map(|c| ["-R", c])).arg(&img));
    }
    let volume = std::fs::read(&img).expect("read the image");
    assert_eq!(volume.len(), size, "mkfs.{kind} made an image of another size");
    volume
}

/// The ROM with `disk` attached and `config` as the fw_cfg configuration
/// (`None`: no `opt/tianshan/config` at all).
fn machine(test: &str, disk: &[u8], config: Option<&str>) -> Machine {
    let mut cfg = MachineConfig::rom(image_dir().join("firmware.rom"));
    cfg.fw_cfg_strings.retain(|(n, _)| n != CONFIG_FILE);
    if let Some(config) = config {
        cfg.config_file(scratch_file(test, "config", config.as_bytes()));
    }
    cfg.disks.push(scratch_file(test, "disk.img", disk));
    Machine::start(&cfg)
}

#[test]
fn ext4_bls_entry_boots_with_its_options() {
    let test = "ext4_bls_entry_boots_with_its_options";
    let kernel = image("kernel.stripped.elf");
    let entry = b"title   Tianshan on ext4\nlinux   /tianshan/kernel.elf\noptions hello=ext4 quiet\ninitrd  /tianshan/initrd.img\n";
    let initrd = b"an initrd a Tianshan kernel does not take".to_vec();
    let files: &[(&str, &[u8])] =
        &[("loader/entries/tianshan.conf", entry), ("tianshan/kernel.elf", &kernel), ("tianshan/initrd.img", &initrd)];
    let volume = ext_volume(test, "ext4", 16 * MIB, &["-b", "4096"], &Tree { files, links: &[] }, &[]);
    let disk = mbr_disk(&[(MBR_LINUX, &volume)]);
    let mut m = machine(test, &disk, Some("bootdelay=0"));
    m.expect("boot: disk: disk0: virtio-blk 00:01.0, ");
    m.expect("boot: disk: disk0p1: ext4 file system");
    m.expect(&format!(
        "boot: disk: /loader/entries/tianshan.conf: linux disk0p1:/tianshan/kernel.elf ({} bytes)",
        kernel.len()
    ));
    m.expect(&format!(
        "boot: disk: /loader/entries/tianshan.conf: initrd /tianshan/initrd.img ({} bytes)",
        initrd.len()
    ));
    m.expect("loader: disk0p1:/tianshan/kernel.elf:");
    m.expect("Tianshan kernel 0.1.0");
    m.expect("command line: hello=ext4 quiet");
    m.expect("tianshan> ");
    m.refute("loader: rom:kernel");
}

/// A FAT partition without entries, then an ext2 one (1 KiB blocks, block
/// maps instead of extents) whose PMON menu names its kernel by partition.
#[test]
fn ext2_pmon_entry_after_a_fat_partition() {
    let test = "ext2_pmon_entry_after_a_fat_partition";
    let kernel = image("kernel.stripped.elf");
    let fat = fat_volume(8 * MIB, fatfs::FatType::Fat16, &[("readme.txt", b"nothing to boot here\n")]);
    let cfg = b"title Tianshan on ext2\n  kernel (wd0,1)/boot/vmlinux\n  args fs=ext2\n";
    let files: &[(&str, &[u8])] = &[("boot/boot.cfg", cfg), ("boot/vmlinux-0.1", &kernel)];
    let links: &[(&str, &str)] = &[("boot/vmlinux", "vmlinux-0.1")];
    let ext2 = ext_volume(test, "ext2", 8 * MIB, &["-b", "1024"], &Tree { files, links }, &[]);
    let disk = mbr_disk(&[(MBR_FAT16_LBA, &fat), (MBR_LINUX, &ext2)]);
    let mut m = machine(test, &disk, Some("bootdelay=0"));
    m.expect("boot: disk: disk0p1: FAT16 file system");
    m.expect("boot: disk: disk0p1: no boot entries (/loader/entries/*.conf, /boot/boot.cfg or /boot.cfg)");
    m.expect("boot: disk: disk0p2: ext2 file system");
    m.expect(&format!(
        "boot: disk: /boot/boot.cfg: entry 0 'Tianshan on ext2': kernel disk0p2:/boot/vmlinux ({} bytes)",
        kernel.len()
    ));
    m.expect("command line: fs=ext2");
    m.expect("tianshan> ");
    m.refute("loader: rom:kernel");
}

/// `mkfs.ext4` on the whole disk: no partition table, one file system.
#[test]
fn whole_disk_ext4_boots() {
    let test = "whole_disk_ext4_boots";
    let kernel = image("kernel.stripped.elf");
    let files: &[(&str, &[u8])] =
        &[("loader/entries/whole.conf", b"linux /kernel.elf\noptions whole=1\n"), ("kernel.elf", &kernel)];
    let disk = ext_volume(test, "ext4", 16 * MIB, &[], &Tree { files, links: &[] }, &[]);
    let mut m = machine(test, &disk, Some("bootdelay=0"));
    m.expect("boot: disk: disk0: ext4 file system");
    m.expect("loader: disk0:/kernel.elf:");
    m.expect("command line: whole=1");
    m.expect("tianshan> ");
}

#[test]
fn corrupt_ext_superblock_falls_through_to_rom() {
    let test = "corrupt_ext_superblock_falls_through_to_rom";
    let kernel = image("kernel.stripped.elf");
    let files: &[(&str, &[u8])] = &[("loader/entries/a.conf", b"linux /kernel.elf\n"), ("kernel.elf", &kernel)];
    let mut volume = ext_volume(test, "ext4", 16 * MIB, &[], &Tree { files, links: &[] }, &[]);
    volume[SUPERBLOCK + S_INODES_PER_GROUP..][..4].copy_from_slice(&0u32.to_le_bytes());
    let disk = mbr_disk(&[(MBR_LINUX, &volume)]);
    let mut m = machine(test, &disk, Some("bootdelay=0"));
    let line = m.expect_line_within("boot: disk: disk0p1: ", DEFAULT_TIMEOUT);
    assert_eq!(line, "corrupt ext4 file system: inodes per block group is zero");
    m.expect("boot: disk: disk0: nothing to boot");
    m.expect("boot: disk: nothing booted from 1 disk (reasons above)");
    m.expect("loader: rom:kernel:");
    m.expect("tianshan> ");
}

/// A kernel whose inode no longer holds an extent tree: that entry fails
/// with the inode and the reason, and the next entry boots.
#[test]
fn corrupt_ext_inode_falls_to_the_next_entry() {
    let test = "corrupt_ext_inode_falls_to_the_next_entry";
    let kernel = image("kernel.stripped.elf");
    // Without sort keys, entries sort by id, highest first: z-bad first.
    let files: &[(&str, &[u8])] = &[
        ("loader/entries/z-bad.conf", b"linux /bad.elf\noptions which=bad\n"),
        ("loader/entries/a-good.conf", b"linux /kernel.elf\noptions which=good\n"),
        ("bad.elf", &kernel),
        ("kernel.elf", &kernel),
    ];
    // i_block[0] holds the extent header's magic; debugfs keeps the
    // inode's checksum right, so the extent tree is what is found wrong.
    let edit = ["sif /bad.elf block[0] 0x12345678"];
    let volume = ext_volume(test, "ext4", 16 * MIB, &[], &Tree { files, links: &[] }, &edit);
    let disk = mbr_disk(&[(MBR_LINUX, &volume)]);
    let mut m = machine(test, &disk, Some("bootdelay=0"));
    let line = m.expect_line_with(
        &["boot: disk: /loader/entries/z-bad.conf: linux /bad.elf: corrupt ext4 file system: extent in inode "],
        DEFAULT_TIMEOUT,
    );
    assert!(line.ends_with(" has invalid magic"), "{line}");
    m.expect("loader: disk0p1:/kernel.elf:");
    m.expect("command line: which=good");
    m.expect("tianshan> ");
}

#[test]
fn shell_lists_and_prints_ext4_files() {
    let test = "shell_lists_and_prints_ext4_files";
    let big: Vec<u8> = (0..70_000u32).map(|i| b"0123456789abcdef\n"[i as usize % 17]).collect();
    let files: &[(&str, &[u8])] = &[
        ("loader/entries/tianshan.conf", b"title Tianshan test\nlinux /kernel.elf\n"),
        ("A-Long-File-Name.txt", b"ext names are kept as written\n"),
        ("big.txt", &big),
    ];
    let links: &[(&str, &str)] = &[("latest.conf", "loader/entries/tianshan.conf")];
    let volume = ext_volume(test, "ext4", 16 * MIB, &[], &Tree { files, links }, &[]);
    let disk = mbr_disk(&[(MBR_LINUX, &volume)]);
    let mut m = machine(test, &disk, Some("bootdelay=0\nbootorder=fwcfg"));
    m.expect("tianshan-fw> ");
    m.send_line("ls");
    m.expect("disk0p1:/: 3 file(s), 2 directory(ies)");
    // In directory order, which is the file system's to choose.
    let listing = m.transcript();
    for line in ["<dir>  loader/", "<dir>  lost+found/", "70000  big.txt", "A-Long-File-Name.txt", "latest.conf"] {
        assert!(listing.contains(line), "ls did not show {line:?}");
    }
    m.send_line("ls /loader/entries");
    m.expect("tianshan.conf");
    m.send_line("cat /loader/entries/tianshan.conf");
    m.expect("title Tianshan test");
    m.send_line("cat /latest.conf");
    m.expect("linux /kernel.elf");
    m.send_line("cat /A-Long-File-Name.txt");
    m.expect("ext names are kept as written");
    m.send_line("cat /a-long-file-name.txt");
    m.expect("cat: /a-long-file-name.txt: no such file or directory");
    m.send_line("cat /big.txt");
    m.expect("cat: /big.txt: showed the first 65536 of 70000 bytes (cat prints at most 65536)");
    m.send_line("cat /loader");
    m.expect("cat: /loader: is a directory");
    m.send_line("ls /big.txt/x");
    m.expect("ls: /big.txt/x: not a directory");
    m.send_line("poweroff");
    assert_eq!(m.wait_exit(Duration::from_secs(20)).code(), Some(0));
}

/// A disk whose FAT file system has `/tianshan.cfg` (with one bad line)
/// and a BLS entry without options.
fn disk_with_config() -> Vec<u8> {
    let kernel = image("kernel.stripped.elf");
    let cfg = b"# firmware settings on the disk\nbootdelay = 0\nbootorder = disk,rom\ncmdline = from=tianshan.cfg\nbogus = 1\n";
    mbr_disk(&[(
        MBR_FAT16_LBA,
        &fat_volume(
            16 * MIB,
            fatfs::FatType::Fat16,
            &[("tianshan.cfg", cfg), ("loader/entries/plain.conf", b"linux /kernel.elf\n"), ("kernel.elf", &kernel)],
        ),
    )])
}

#[test]
fn tianshan_cfg_on_fat_sets_bootorder_and_cmdline() {
    let test = "tianshan_cfg_on_fat_sets_bootorder_and_cmdline";
    let mut m = machine(test, &disk_with_config(), None);
    m.expect("config: disk0p1:/tianshan.cfg (");
    m.expect("config: disk0p1:/tianshan.cfg line 5: unknown key 'bogus'");
    m.expect("boot: disk: disk0p1: FAT16 file system");
    m.expect("loader: disk0p1:/kernel.elf:");
    m.expect("command line: from=tianshan.cfg");
    m.expect("tianshan> ");
    // bootorder = disk,rom: fw_cfg was never tried, and no countdown ran.
    m.refute("boot: fwcfg:");
    m.refute("autoboot in");
}

#[test]
fn fwcfg_config_overrides_tianshan_cfg() {
    let test = "fwcfg_config_overrides_tianshan_cfg";
    let mut m = machine(test, &disk_with_config(), Some("bootdelay=0\nbootorder=rom,disk\ncmdline=from=fwcfg"));
    m.expect("loader: rom:kernel:");
    m.expect("command line: from=fwcfg");
    m.expect("tianshan> ");
    m.refute("tianshan.cfg");
}

/// The first file system that has `/tianshan.cfg` wins: here the ext4
/// partition after a FAT one without it; `printenv` names it.
#[test]
fn tianshan_cfg_on_ext4_second_partition() {
    let test = "tianshan_cfg_on_ext4_second_partition";
    let fat = fat_volume(8 * MIB, fatfs::FatType::Fat16, &[("readme.txt", b"no configuration here\n")]);
    let files: &[(&str, &[u8])] = &[("tianshan.cfg", b"bootdelay=0\nbootorder=fwcfg\ncmdline=on ext4\n")];
    let ext4 = ext_volume(test, "ext4", 16 * MIB, &[], &Tree { files, links: &[] }, &[]);
    let disk = mbr_disk(&[(MBR_FAT16_LBA, &fat), (MBR_LINUX, &ext4)]);
    let mut m = machine(test, &disk, None);
    m.expect("config: disk0p2:/tianshan.cfg (");
    m.expect("boot: fwcfg: no opt/tianshan/kernel in fw_cfg");
    m.expect("tianshan-fw> ");
    m.send_line("printenv");
    m.expect("bootorder = fwcfg");
    m.expect("cmdline   = on ext4");
    m.expect("(from disk0p2:/tianshan.cfg and setenv; changes last until reset)");
}
