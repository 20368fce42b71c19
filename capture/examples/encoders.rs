//! Prints what each encoder backend answers on this machine, in the default order
//! (NVENC, VA-API, software), and which one a recording would use.

use ghost_capture::encode::{pick, Backend};

fn main() {
    let (chosen, probes) = pick(&[Backend::Nvenc, Backend::Vaapi, Backend::Software]);
    for p in &probes {
        match &p.refused {
            None => println!("{}: {} opens", p.backend.name(), p.encoder),
            Some(why) => println!("{}: {} refused: {why}", p.backend.name(), p.encoder),
        }
    }
    println!("chosen: {}", chosen.map_or("none", Backend::name));
}
