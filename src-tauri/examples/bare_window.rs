//! The baseline of the app's memory benchmark: a bare Tauri 2 window (one static page) on the
//! same Tauri and WebKitGTK as Holdfast, built in the same run (bench/app_memory.sh).

fn main() {
    let context = tauri::generate_context!("examples/bare/tauri.conf.json");
    if let Err(e) = tauri::Builder::default().run(context) {
        eprintln!("bare window: {e}");
        std::process::exit(1);
    }
}
