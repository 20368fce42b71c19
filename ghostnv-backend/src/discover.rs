//! Which GPUs the machine has, read from sysfs (what udev reads too): each primary
//! node with its render node, kernel driver, PCI ids and whether the firmware booted
//! on it (boot_vga). The compositor drives the boot GPU first, as users expect the
//! screen the firmware used to stay the main one.

use std::path::{Path, PathBuf};

/// One DRM device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuNode {
    /// The primary node, e.g. /dev/dri/card0 (modesetting).
    pub card: PathBuf,
    /// Its render node, e.g. /dev/dri/renderD128 (rendering without DRM master), when
    /// the device has one (vkms and simpledrm do not).
    pub render: Option<PathBuf>,
    /// The kernel driver, e.g. "nvidia-drm" (its module; "nvidia" for the PCI device).
    pub driver: Option<String>,
    /// PCI vendor and device id, for PCI devices.
    pub pci: Option<(u16, u16)>,
    /// The firmware's boot display device.
    pub boot_vga: bool,
}

fn hex_id(path: &Path) -> Option<u16> {
    let text = std::fs::read_to_string(path).ok()?;
    u16::from_str_radix(text.trim().trim_start_matches("0x"), 16).ok()
}

fn name_of(path: &Path) -> Option<String> {
    Some(path.file_name()?.to_str()?.to_owned())
}

/// Lists the DRM devices under `sys_class_drm` (normally /sys/class/drm), with node
/// paths under `dev_dri` (normally /dev/dri); boot GPU first, then by name.
pub fn discover(sys_class_drm: &Path, dev_dri: &Path) -> Vec<GpuNode> {
    let Ok(entries) = std::fs::read_dir(sys_class_drm) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| name_of(&e.path()))
        .collect();
    names.sort();
    let device_of =
        |name: &str| std::fs::canonicalize(sys_class_drm.join(name).join("device")).ok();
    let mut out = Vec::new();
    for card in names.iter().filter(|n| {
        n.strip_prefix("card")
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
    }) {
        let device = device_of(card);
        let render = device.as_ref().and_then(|dev| {
            names
                .iter()
                .filter(|n| n.starts_with("renderD"))
                .find(|n| device_of(n).as_ref() == Some(dev))
                .map(|n| dev_dri.join(n))
        });
        let base = sys_class_drm.join(card).join("device");
        let driver = std::fs::read_link(base.join("driver"))
            .ok()
            .and_then(|p| name_of(&p));
        let pci = hex_id(&base.join("vendor")).zip(hex_id(&base.join("device")));
        let boot_vga = std::fs::read_to_string(base.join("boot_vga"))
            .map(|t| t.trim() == "1")
            .unwrap_or(false);
        out.push(GpuNode {
            card: dev_dri.join(card),
            render,
            driver,
            pci,
            boot_vga,
        });
    }
    // The boot GPU first; the sort is stable, so the rest keep their order.
    out.sort_by_key(|g| !g.boot_vga);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_sysfs() -> tempdir::Dir {
        let dir = tempdir::Dir::new();
        let root = dir.path();
        let drm = root.join("class/drm");
        std::fs::create_dir_all(&drm).expect("mkdir");
        // A PCI NVIDIA card (not the boot GPU) and the Intel boot GPU, each with a
        // render node; a vkms platform device without one.
        for (pci, vendor, device, driver, boot) in [
            ("0000:01:00.0", "0x10de", "0x2684", "nvidia", "0"),
            ("0000:00:02.0", "0x8086", "0x3e92", "i915", "1"),
        ] {
            let dev = root.join("devices/pci").join(pci);
            std::fs::create_dir_all(&dev).expect("mkdir");
            std::fs::write(dev.join("vendor"), vendor).expect("write");
            std::fs::write(dev.join("device"), device).expect("write");
            std::fs::write(dev.join("boot_vga"), boot).expect("write");
            let drv = root.join("bus/pci/drivers").join(driver);
            std::fs::create_dir_all(&drv).expect("mkdir");
            std::os::unix::fs::symlink(&drv, dev.join("driver")).expect("symlink");
        }
        let vkms = root.join("devices/platform/vkms");
        std::fs::create_dir_all(&vkms).expect("mkdir");
        for (node, device) in [
            ("card0", "devices/pci/0000:01:00.0"),
            ("renderD128", "devices/pci/0000:01:00.0"),
            ("card1", "devices/pci/0000:00:02.0"),
            ("renderD129", "devices/pci/0000:00:02.0"),
            ("card2", "devices/platform/vkms"),
        ] {
            let n = drm.join(node);
            std::fs::create_dir_all(&n).expect("mkdir");
            std::os::unix::fs::symlink(root.join(device), n.join("device")).expect("symlink");
        }
        // Connector directories are not devices.
        std::fs::create_dir_all(drm.join("card1-DP-1")).expect("mkdir");
        dir
    }

    #[test]
    fn boot_gpu_first_with_render_nodes_drivers_and_pci_ids() {
        let sys = fake_sysfs();
        let gpus = discover(&sys.path().join("class/drm"), Path::new("/dev/dri"));
        assert_eq!(gpus.len(), 3, "{gpus:#?}");
        assert_eq!(gpus[0].card, Path::new("/dev/dri/card1"));
        assert!(gpus[0].boot_vga);
        assert_eq!(gpus[0].driver.as_deref(), Some("i915"));
        assert_eq!(gpus[0].pci, Some((0x8086, 0x3e92)));
        assert_eq!(
            gpus[0].render.as_deref(),
            Some(Path::new("/dev/dri/renderD129"))
        );
        assert_eq!(gpus[1].card, Path::new("/dev/dri/card0"));
        assert_eq!(gpus[1].pci, Some((0x10de, 0x2684)));
        assert_eq!(
            gpus[1].render.as_deref(),
            Some(Path::new("/dev/dri/renderD128"))
        );
        assert_eq!(gpus[2].card, Path::new("/dev/dri/card2"));
        assert_eq!(gpus[2].render, None, "vkms has no render node");
        assert_eq!(gpus[2].pci, None);
    }

    #[test]
    fn a_machine_without_drm_has_no_gpus() {
        assert!(discover(Path::new("/nonexistent/class/drm"), Path::new("/dev/dri")).is_empty());
    }

    /// A temporary directory removed on drop (no crate needed for two tests).
    mod tempdir {
        pub struct Dir(std::path::PathBuf);

        impl Dir {
            pub fn new() -> Self {
                use std::sync::atomic::{AtomicU32, Ordering};
                static N: AtomicU32 = AtomicU32::new(0);
                let path = std::env::temp_dir().join(format!(
                    "ghostnv-discover-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&path).expect("temp dir");
                Self(path)
            }

            pub fn path(&self) -> &std::path::Path {
                &self.0
            }
        }

        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }
}
