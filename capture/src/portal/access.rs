//! `org.freedesktop.impl.portal.Access`: the yes/no question xdg-desktop-portal asks
//! before some requests (a non-interactive screenshot the first time, for one). The
//! compositor's prompt asks it, with the portal's own title; `[capture] unattended`
//! answers it alone where set.

use std::{collections::HashMap, sync::Arc};

use zbus::zvariant::{OwnedObjectPath, OwnedValue};

use super::{Desktop, Results, CANCELLED, FAILED, SUCCESS};

/// The Access implementation.
pub struct Access {
    desktop: Arc<dyn Desktop>,
}

impl Access {
    /// Asks `desktop`'s user.
    pub fn new(desktop: Arc<dyn Desktop>) -> Self {
        Self { desktop }
    }
}

#[zbus::interface(name = "org.freedesktop.impl.portal.Access")]
impl Access {
    /// Asks the user `title` on behalf of `app_id`; granted or refused.
    #[allow(clippy::too_many_arguments)]
    async fn access_dialog(
        &self,
        _handle: OwnedObjectPath,
        app_id: String,
        _parent_window: String,
        title: String,
        _subtitle: String,
        _body: String,
        _options: HashMap<String, OwnedValue>,
    ) -> (u32, Results) {
        let desktop = self.desktop.clone();
        let answer = blocking::unblock(move || desktop.confirm(&app_id, &title, 0)).await;
        match answer {
            Ok(true) => (SUCCESS, Results::new()),
            Ok(false) => (CANCELLED, Results::new()),
            Err(err) => {
                tracing::warn!(%err, "access dialog failed");
                (FAILED, Results::new())
            }
        }
    }
}
