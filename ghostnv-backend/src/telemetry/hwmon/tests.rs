//! The sysfs source against trees laid out as the kernel lays them out (file names and
//! units from the amdgpu, i915 and hwmon documentation), made in a temporary folder.

use super::*;
use std::fs;
use std::os::unix::fs::symlink;
use std::time::Duration;

struct Tree(PathBuf);

impl Tree {
    fn new(name: &str) -> Self {
        let root = std::env::temp_dir().join(format!(
            "ghostnv-hwmon-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("class/drm")).unwrap();
        Tree(root)
    }

    fn drm(&self) -> PathBuf {
        self.0.join("class/drm")
    }

    /// A card bound to `driver`, its device folder under devices/ and linked as sysfs does.
    fn card(&self, card: &str, driver: &str, files: &[(&str, &str)]) -> PathBuf {
        let device = self.0.join(format!("devices/pci0000:00/{card}"));
        fs::create_dir_all(self.0.join(format!("bus/pci/drivers/{driver}"))).unwrap();
        fs::create_dir_all(&device).unwrap();
        symlink(
            self.0.join(format!("bus/pci/drivers/{driver}")),
            device.join("driver"),
        )
        .unwrap();
        let node = self.drm().join(card);
        fs::create_dir_all(&node).unwrap();
        symlink(&device, node.join("device")).unwrap();
        // A connector folder beside it, which is not a card.
        fs::create_dir_all(self.drm().join(format!("{card}-DP-1"))).unwrap();
        for (path, value) in files {
            let file = node.join(path);
            fs::create_dir_all(file.parent().unwrap()).unwrap();
            fs::write(file, format!("{value}\n")).unwrap();
        }
        node
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn an_amdgpu_board_reports_what_its_files_say() {
    let tree = Tree::new("amdgpu");
    tree.card(
        "card1",
        "amdgpu",
        &[
            ("device/gpu_busy_percent", "37"),
            ("device/mem_info_vram_used", "1073741824"),
            ("device/mem_info_vram_total", "17163091968"),
            ("device/hwmon/hwmon4/name", "amdgpu"),
            ("device/hwmon/hwmon4/temp1_input", "52000"),
            ("device/hwmon/hwmon4/power1_average", "48000000"),
            ("device/hwmon/hwmon4/power1_cap", "203000000"),
            ("device/hwmon/hwmon4/freq1_input", "2482000000"),
            ("device/hwmon/hwmon4/freq2_input", "1249000000"),
        ],
    );
    let mut p = HwmonProvider::new(&tree.drm());
    let gpus = p.sample().unwrap();
    assert_eq!(gpus.len(), 1, "the connector folder is no card");
    let g = &gpus[0];
    assert_eq!(g.name, "card1 (amdgpu)");
    assert_eq!(g.temperature_c, Some(52.0));
    assert_eq!(g.power_w, Some(48.0));
    assert_eq!(g.power_limit_w, Some(203.0));
    assert_eq!(g.core_clock_mhz, Some(2482));
    assert_eq!(g.memory_clock_mhz, Some(1249));
    assert_eq!(g.gpu_busy_percent, Some(37));
    assert_eq!(g.vram_used_bytes, Some(1 << 30));
    assert_eq!(g.vram_total_bytes, Some(17_163_091_968));
}

#[test]
fn an_intel_board_reports_power_from_its_energy_counter_and_its_throttling() {
    let tree = Tree::new("i915");
    let card = tree.card(
        "card0",
        "i915",
        &[
            ("gt_act_freq_mhz", "1300"),
            ("gt/gt0/throttle_reason_pl1", "1"),
            ("gt/gt0/throttle_reason_thermal", "0"),
            ("device/hwmon/hwmon2/name", "i915"),
            ("device/hwmon/hwmon2/energy1_input", "1000000"),
            ("device/hwmon/hwmon2/power1_max", "25000000"),
        ],
    );
    let mut p = HwmonProvider::new(&tree.drm());
    let first = p.sample().unwrap();
    assert_eq!(first[0].power_w, None, "one energy reading is no power yet");
    assert_eq!(first[0].core_clock_mhz, Some(1300));
    assert_eq!(first[0].power_limit_w, Some(25.0));
    assert_eq!(first[0].throttle_reasons, vec!["power cap"]);
    assert_eq!(first[0].temperature_c, None, "i915 has no temperature file");
    std::thread::sleep(Duration::from_millis(200));
    // 3 J more.
    fs::write(card.join("device/hwmon/hwmon2/energy1_input"), "4000000\n").unwrap();
    let watts = p.sample().unwrap()[0].power_w.unwrap();
    assert!(
        (5.0..=15.5).contains(&watts),
        "{watts} W from 3 J in ~0.2 s"
    );
}

#[test]
fn a_display_only_device_is_no_gpu_to_report() {
    let tree = Tree::new("vkms");
    tree.card("card0", "vkms", &[]);
    let mut p = HwmonProvider::new(&tree.drm());
    assert!(matches!(p.sample(), Err(TelemetryError::Unavailable(_))));
}

#[test]
fn nvidia_cards_are_left_to_nvml_and_a_vanished_board_drops_out() {
    let tree = Tree::new("gone");
    tree.card("card0", "nvidia", &[]);
    let amd = tree.card(
        "card1",
        "amdgpu",
        &[
            ("device/hwmon/hwmon1/temp1_input", "40000"),
            ("device/gpu_busy_percent", "3"),
        ],
    );
    let mut p = HwmonProvider::new(&tree.drm());
    let gpus = p.sample().unwrap();
    assert_eq!(gpus.len(), 1);
    assert_eq!(gpus[0].name, "card1 (amdgpu)");
    // The temperature file goes: the figure goes, the board stays.
    fs::remove_file(amd.join("device/hwmon/hwmon1/temp1_input")).unwrap();
    let gpus = p.sample().unwrap();
    assert_eq!(gpus[0].temperature_c, None);
    assert_eq!(gpus[0].gpu_busy_percent, Some(3));
    // The board goes: nothing left to report, which is no failure of the source.
    fs::remove_dir_all(&amd).unwrap();
    assert!(matches!(p.sample(), Err(TelemetryError::Unavailable(_))));
}
