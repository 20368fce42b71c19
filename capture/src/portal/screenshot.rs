//! `org.freedesktop.impl.portal.Screenshot`: a PNG of the screen the user consents to
//! (or the unattended policy grants), written where screenshots go.

use std::{collections::HashMap, sync::Arc};

use zbus::zvariant::{OwnedObjectPath, OwnedValue};

use super::{Desktop, Results, Source, CANCELLED, FAILED, SUCCESS};

/// The Screenshot implementation.
pub struct Screenshot {
    desktop: Arc<dyn Desktop>,
}

impl Screenshot {
    /// Takes screenshots of `desktop`.
    pub fn new(desktop: Arc<dyn Desktop>) -> Self {
        Self { desktop }
    }
}

/// `$XDG_PICTURES_DIR`, else `~/Pictures`, else the runtime directory.
fn pictures_dir() -> std::path::PathBuf {
    std::env::var_os("XDG_PICTURES_DIR")
        .map(Into::into)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join("Pictures")))
        .filter(|p: &std::path::PathBuf| std::fs::create_dir_all(p).is_ok())
        .or_else(|| std::env::var_os("XDG_RUNTIME_DIR").map(Into::into))
        .unwrap_or_else(std::env::temp_dir)
}

#[zbus::interface(name = "org.freedesktop.impl.portal.Screenshot")]
impl Screenshot {
    /// A screenshot of the output the user picks; the result's `uri` names the PNG.
    async fn screenshot(
        &self,
        _handle: OwnedObjectPath,
        app_id: String,
        _parent_window: String,
        _options: HashMap<String, OwnedValue>,
    ) -> (u32, Results) {
        let desktop = self.desktop.clone();
        let outcome = blocking::unblock(move || {
            let Some(choice) = desktop.choose(&app_id, 1, None, 0)? else {
                return Ok(None);
            };
            let Source::Output(output) = choice.source else {
                return Err("a screenshot needs an output".to_string());
            };
            let millis = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or_default();
            let path = pictures_dir().join(format!("Screenshot-{millis}.png"));
            desktop.screenshot(&output, &path)?;
            Ok::<_, String>(Some(path))
        })
        .await;
        match outcome {
            Ok(Some(path)) => {
                let mut results = Results::new();
                let uri = format!("file://{}", path.display());
                match OwnedValue::try_from(zbus::zvariant::Value::from(uri)) {
                    Ok(v) => {
                        results.insert("uri".into(), v);
                        (SUCCESS, results)
                    }
                    Err(_) => (FAILED, Results::new()),
                }
            }
            Ok(None) => (CANCELLED, Results::new()),
            Err(err) => {
                tracing::warn!(%err, "screenshot failed");
                (FAILED, Results::new())
            }
        }
    }

    /// Colour picking is not offered.
    async fn pick_color(
        &self,
        _handle: OwnedObjectPath,
        _app_id: String,
        _parent_window: String,
        _options: HashMap<String, OwnedValue>,
    ) -> (u32, Results) {
        (FAILED, Results::new())
    }

    /// Interface version.
    #[zbus(property, name = "version")]
    fn version(&self) -> u32 {
        2
    }
}
