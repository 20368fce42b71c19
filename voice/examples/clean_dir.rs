//! Cleans every WAV file of a folder into another: `clean_dir MODE IN_DIR OUT_DIR`
//! (what the scorer reads when judging a mode by hand).

use std::path::Path;

use ghost_voice::{wav, Chain, Mode, Options};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, input, output] = args.as_slice() else {
        eprintln!("usage: clean_dir light|quality IN_DIR OUT_DIR");
        std::process::exit(2);
    };
    let mode = Mode::from_name(mode).expect("mode");
    std::fs::create_dir_all(output).expect("output folder");
    let mut files: Vec<_> = std::fs::read_dir(input)
        .expect("input folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect();
    files.sort();
    for file in files {
        let samples = wav::read(&file).expect("wav");
        let cleaned = Chain::new(mode, Options::default())
            .expect("chain")
            .process_all(&samples);
        let name = file.file_name().expect("name");
        wav::write(&Path::new(output).join(name), &cleaned).expect("write");
    }
}
