//! Tauri commands: one handler per entry of the core's command list
//! (`crates/core/src/commands/list.rs`), each a call to the core function of the same name.
//! Errors cross as `ErrorPayload` (stable code, field, message) so the UI can switch on the code.

use holdfast_core::commands::types::*;
use holdfast_core::{ErrorPayload, Holdfast};
use tauri::State;

macro_rules! commands {
    ($( $(#[doc = $doc:literal])* $name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty |$hf:ident| $body:expr ; )*) => {
        $(
            $(#[doc = $doc])*
            #[tauri::command]
            pub async fn $name(hf: State<'_, Holdfast>, $($arg: $ty),*) -> Result<$ret, ErrorPayload> {
                Ok(holdfast_core::commands::$name(&hf, $($arg),*).await?)
            }
        )*

        /// The invoke handler of every command in the list.
        pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($name),*]
        }
    };
}

include!("../../../crates/core/src/commands/list.rs");
