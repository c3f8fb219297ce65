fn main() {
    std::process::exit(cargo_lockstep::run(std::env::args_os().collect()));
}
