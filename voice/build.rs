//! Links RNNoise 0.2 (the quality mode's network) statically from the system's
//! `librnnoise-dev`, so the binary carries the model and needs no library at run time.

fn main() {
    println!("cargo:rerun-if-env-changed=RNNOISE_LIB_DIR");
    let dir = std::env::var("RNNOISE_LIB_DIR").ok().or_else(|| {
        pkg_config::get_variable("rnnoise", "libdir")
            .ok()
            .filter(|d| !d.is_empty())
    });
    match dir {
        Some(dir) => println!("cargo:rustc-link-search=native={dir}"),
        None => {
            println!(
                "cargo:warning=librnnoise-dev (RNNoise 0.2) not found by pkg-config; \
                 scripts/install-deps.sh installs it"
            );
        }
    }
    println!("cargo:rustc-link-lib=static=rnnoise");
}
