//! Tauri commands: one handler per entry of the core's command list
//! (`crates/core/src/commands/list.rs`), each a call to the core function of the same name.
//! Errors cross as `ErrorPayload` (stable code, field, message) so the UI can switch on the code.
//! A path argument marked `#[chosen(…)]` in the list is admitted only when the operator chose
//! it in the file dialog (`super::chosen`).

use holdfast_core::commands::types::*;
use holdfast_core::{ErrorPayload, Holdfast};
use tauri::State;

use super::chosen::{ChosenPaths, Purpose};

macro_rules! commands {
    ($( $(#[doc = $doc:literal])* $(#[chosen($chosen:ident, $purpose:ident)])? $name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty |$hf:ident| $body:expr ; )*) => {
        $(
            $(#[doc = $doc])*
            #[tauri::command]
            pub async fn $name(hf: State<'_, Holdfast>, _chosen: State<'_, ChosenPaths>, $($arg: $ty),*) -> Result<$ret, ErrorPayload> {
                $( _chosen.admit(Purpose::$purpose, &$chosen)?; )?
                let out = holdfast_core::commands::$name(&hf, $($arg),*).await;
                super::memory::work_done();
                Ok(out?)
            }
        )*

        /// The invoke handler of every command in the list, and of the shell's file dialog.
        pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($name,)* super::chosen::choose_bundle_path]
        }
    };
}

include!("../../../crates/core/src/commands/list.rs");
