//! ext-image-capture-source-v1: the handles capture protocols take to name what they
//! capture — an output, or a toplevel named through ext-foreign-toplevel-list. A source
//! remembers what it names, not a picture; ext-image-copy-capture resolves it each time
//! it captures, so a source whose output or window went away stops its sessions.

use smithay::{
    desktop::Window,
    output::{Output, WeakOutput},
    reexports::{
        wayland_protocols::ext::image_capture_source::v1::server::{
            ext_foreign_toplevel_image_capture_source_manager_v1::{
                self, ExtForeignToplevelImageCaptureSourceManagerV1,
            },
            ext_image_capture_source_v1::ExtImageCaptureSourceV1,
            ext_output_image_capture_source_manager_v1::{
                self, ExtOutputImageCaptureSourceManagerV1,
            },
        },
        wayland_server::{
            Client, DataInit, Dispatch, DisplayHandle, GlobalDispatch, New, Resource,
        },
    },
    wayland::foreign_toplevel_list::{ForeignToplevelHandle, ForeignToplevelWeakHandle},
};

use crate::{shell::window_data, state::Ghost};

/// What a capture source names.
#[derive(Debug, Clone)]
pub enum CaptureSource {
    /// A whole output.
    Output(WeakOutput),
    /// One toplevel, by its foreign-toplevel handle.
    Toplevel(ForeignToplevelWeakHandle),
    /// A handle that named nothing capturable (an unknown output or toplevel).
    Nothing,
}

/// Where a source is now: the output it is drawn at and, for toplevels, the window.
#[derive(Debug, Clone)]
pub struct Located {
    /// The output whose scale and colours the picture uses.
    pub output: Output,
    /// The window of a toplevel source.
    pub window: Option<Window>,
}

/// What resolving a source found.
#[derive(Debug, Clone)]
pub enum Resolved {
    /// Capturable now.
    Here(Located),
    /// Exists but is on no output (a minimized window): frames wait.
    Hidden,
    /// Gone for good: sessions stop.
    Gone,
}

/// Which clients may bind the source managers.
pub struct SourceGlobalData {
    filter: Box<dyn Fn(&Client) -> bool + Send + Sync>,
}

/// Creates both source manager globals, visible to clients that pass `filter`.
pub fn create_globals<F>(dh: &DisplayHandle, filter: F)
where
    F: Fn(&Client) -> bool + Send + Sync + Clone + 'static,
{
    dh.create_global::<Ghost, ExtOutputImageCaptureSourceManagerV1, _>(
        1,
        SourceGlobalData {
            filter: Box::new(filter.clone()),
        },
    );
    dh.create_global::<Ghost, ExtForeignToplevelImageCaptureSourceManagerV1, _>(
        1,
        SourceGlobalData {
            filter: Box::new(filter),
        },
    );
}

impl GlobalDispatch<ExtOutputImageCaptureSourceManagerV1, SourceGlobalData> for Ghost {
    fn bind(
        _state: &mut Self,
        _dh: &DisplayHandle,
        _client: &Client,
        resource: New<ExtOutputImageCaptureSourceManagerV1>,
        _data: &SourceGlobalData,
        data_init: &mut DataInit<'_, Self>,
    ) {
        data_init.init(resource, ());
    }

    fn can_view(client: Client, data: &SourceGlobalData) -> bool {
        (data.filter)(&client)
    }
}

impl GlobalDispatch<ExtForeignToplevelImageCaptureSourceManagerV1, SourceGlobalData> for Ghost {
    fn bind(
        _state: &mut Self,
        _dh: &DisplayHandle,
        _client: &Client,
        resource: New<ExtForeignToplevelImageCaptureSourceManagerV1>,
        _data: &SourceGlobalData,
        data_init: &mut DataInit<'_, Self>,
    ) {
        data_init.init(resource, ());
    }

    fn can_view(client: Client, data: &SourceGlobalData) -> bool {
        (data.filter)(&client)
    }
}

impl Dispatch<ExtOutputImageCaptureSourceManagerV1, ()> for Ghost {
    fn request(
        _state: &mut Self,
        _client: &Client,
        _manager: &ExtOutputImageCaptureSourceManagerV1,
        request: ext_output_image_capture_source_manager_v1::Request,
        _data: &(),
        _dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        if let ext_output_image_capture_source_manager_v1::Request::CreateSource {
            source,
            output,
        } = request
        {
            let named = match Output::from_resource(&output) {
                Some(output) => CaptureSource::Output(output.downgrade()),
                None => CaptureSource::Nothing,
            };
            data_init.init(source, named);
        }
    }
}

impl Dispatch<ExtForeignToplevelImageCaptureSourceManagerV1, ()> for Ghost {
    fn request(
        _state: &mut Self,
        _client: &Client,
        _manager: &ExtForeignToplevelImageCaptureSourceManagerV1,
        request: ext_foreign_toplevel_image_capture_source_manager_v1::Request,
        _data: &(),
        _dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        if let ext_foreign_toplevel_image_capture_source_manager_v1::Request::CreateSource {
            source,
            toplevel_handle,
        } = request
        {
            let named = match ForeignToplevelHandle::from_resource(&toplevel_handle) {
                Some(handle) => CaptureSource::Toplevel(handle.downgrade()),
                None => CaptureSource::Nothing,
            };
            data_init.init(source, named);
        }
    }
}

impl Dispatch<ExtImageCaptureSourceV1, CaptureSource> for Ghost {
    fn request(
        _state: &mut Self,
        _client: &Client,
        _source: &ExtImageCaptureSourceV1,
        _request: <ExtImageCaptureSourceV1 as Resource>::Request,
        _data: &CaptureSource,
        _dh: &DisplayHandle,
        _data_init: &mut DataInit<'_, Self>,
    ) {
        // destroy is the only request; sessions keep their own copy of the source.
    }
}

impl Ghost {
    /// Where `source` is now.
    pub fn resolve_capture_source(&self, source: &CaptureSource) -> Resolved {
        match source {
            CaptureSource::Nothing => Resolved::Gone,
            CaptureSource::Output(weak) => match weak.upgrade() {
                Some(output) if self.space.outputs().any(|o| o == &output) => {
                    Resolved::Here(Located {
                        output,
                        window: None,
                    })
                }
                _ => Resolved::Gone,
            },
            CaptureSource::Toplevel(weak) => {
                let Some(handle) = weak.upgrade().filter(|h| !h.is_closed()) else {
                    return Resolved::Gone;
                };
                let named = |w: &&Window| {
                    window_data(w)
                        .foreign
                        .borrow()
                        .as_ref()
                        .is_some_and(|h| h.identifier() == handle.identifier())
                };
                let Some(window) = self.space.elements().find(named).cloned() else {
                    return if self.all_windows().any(|w| named(&w)) {
                        Resolved::Hidden
                    } else {
                        Resolved::Gone
                    };
                };
                let output = self
                    .space
                    .outputs_for_element(&window)
                    .into_iter()
                    .next()
                    .or_else(|| self.space.outputs().next().cloned());
                match output {
                    Some(output) => Resolved::Here(Located {
                        output,
                        window: Some(window),
                    }),
                    None => Resolved::Hidden,
                }
            }
        }
    }

    /// The source's top left in global logical coordinates (cursor positions are
    /// relative to it).
    pub fn capture_source_origin(
        &self,
        located: &Located,
    ) -> Option<smithay::utils::Point<i32, smithay::utils::Logical>> {
        match &located.window {
            Some(window) => self.space.element_location(window),
            None => self.space.output_geometry(&located.output).map(|g| g.loc),
        }
    }
}
