//! CUDA, for the encoder's zero-copy path on NVIDIA: the compositor's packed NV12/P010
//! planes are GLES textures; each is registered with CUDA (an EGL image of it through
//! `cuGraphicsEGLRegisterImage`, or the texture itself through CUDA's GL interop, which
//! is the route that maps on a display-less H100), mapped as a CUDA array, and copied on
//! the GPU into the linear device memory NVENC reads (through FFmpeg, `AV_PIX_FMT_CUDA`
//! frames are linear; NVENC's own API could read the array itself). The pixels never
//! cross the bus. The driver library is loaded at run time, so machines without
//! NVIDIA's driver get a reason, not a missing symbol.
//!
//! Why EGL images and not external memory: `cuImportExternalMemory` takes memory
//! exported by Vulkan or by another CUDA process (opaque file descriptors), and neither
//! NVIDIA's GLES nor a GBM buffer exports that kind; a DMA-BUF is not accepted by CUDA
//! 12. EGL images are what NVIDIA's EGL and CUDA share.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};

use libloading::Library;

type CuResult = c_int;
type CuDevice = c_int;
/// A CUDA context.
pub type CuContext = *mut c_void;
type CuGraphicsResource = *mut c_void;
type CuArray = *mut c_void;
/// A device address.
pub type CuDevicePtr = u64;

const CU_MEMORYTYPE_HOST: c_uint = 1;
const CU_MEMORYTYPE_DEVICE: c_uint = 2;
const CU_MEMORYTYPE_ARRAY: c_uint = 3;
const CU_GRAPHICS_REGISTER_FLAGS_READ_ONLY: c_uint = 1;

/// `CUDA_MEMCPY2D` (cuda.h), the copy descriptor of `cuMemcpy2D_v2`.
#[repr(C)]
struct Memcpy2d {
    src_x_in_bytes: usize,
    src_y: usize,
    src_memory_type: c_uint,
    src_host: *const c_void,
    src_device: CuDevicePtr,
    src_array: CuArray,
    src_pitch: usize,
    dst_x_in_bytes: usize,
    dst_y: usize,
    dst_memory_type: c_uint,
    dst_host: *mut c_void,
    dst_device: CuDevicePtr,
    dst_array: CuArray,
    dst_pitch: usize,
    width_in_bytes: usize,
    height: usize,
}

impl Default for Memcpy2d {
    fn default() -> Self {
        Memcpy2d {
            src_x_in_bytes: 0,
            src_y: 0,
            src_memory_type: 0,
            src_host: std::ptr::null(),
            src_device: 0,
            src_array: std::ptr::null_mut(),
            src_pitch: 0,
            dst_x_in_bytes: 0,
            dst_y: 0,
            dst_memory_type: 0,
            dst_host: std::ptr::null_mut(),
            dst_device: 0,
            dst_array: std::ptr::null_mut(),
            dst_pitch: 0,
            width_in_bytes: 0,
            height: 0,
        }
    }
}

/// Why CUDA cannot do something.
#[derive(Debug, thiserror::Error)]
pub enum CudaError {
    /// libcuda.so.1 is not there (no NVIDIA driver).
    #[error("cannot load libcuda.so.1: {0}")]
    Library(String),
    /// A call failed, with the driver's words.
    #[error("{call} failed: {message} ({code})")]
    Call {
        /// The function.
        call: &'static str,
        /// `cuGetErrorString`.
        message: String,
        /// The CUresult.
        code: i32,
    },
}

struct Fns {
    init: unsafe extern "C" fn(c_uint) -> CuResult,
    device_get: unsafe extern "C" fn(*mut CuDevice, c_int) -> CuResult,
    primary_ctx_retain: unsafe extern "C" fn(*mut CuContext, CuDevice) -> CuResult,
    primary_ctx_release: unsafe extern "C" fn(CuDevice) -> CuResult,
    ctx_push: unsafe extern "C" fn(CuContext) -> CuResult,
    ctx_pop: unsafe extern "C" fn(*mut CuContext) -> CuResult,
    ctx_synchronize: unsafe extern "C" fn() -> CuResult,
    register_egl_image:
        unsafe extern "C" fn(*mut CuGraphicsResource, *mut c_void, c_uint) -> CuResult,
    register_gl_image:
        unsafe extern "C" fn(*mut CuGraphicsResource, c_uint, c_uint, c_uint) -> CuResult,
    unregister: unsafe extern "C" fn(CuGraphicsResource) -> CuResult,
    map: unsafe extern "C" fn(c_uint, *mut CuGraphicsResource, *mut c_void) -> CuResult,
    unmap: unsafe extern "C" fn(c_uint, *mut CuGraphicsResource, *mut c_void) -> CuResult,
    mapped_array:
        unsafe extern "C" fn(*mut CuArray, CuGraphicsResource, c_uint, c_uint) -> CuResult,
    mem_alloc_pitch:
        unsafe extern "C" fn(*mut CuDevicePtr, *mut usize, usize, usize, c_uint) -> CuResult,
    mem_free: unsafe extern "C" fn(CuDevicePtr) -> CuResult,
    memcpy_2d: unsafe extern "C" fn(*const Memcpy2d) -> CuResult,
    error_string: unsafe extern "C" fn(CuResult, *mut *const c_char) -> CuResult,
}

/// The driver, initialised, with the first GPU's primary context (the one FFmpeg's
/// CUDA device context uses too, so memory is shared without any transfer).
pub struct Cuda {
    fns: Fns,
    device: CuDevice,
    context: CuContext,
    _lib: Library,
}

// SAFETY: the driver API is thread-safe; every call here pushes the context first.
unsafe impl Send for Cuda {}

impl Cuda {
    /// Loads libcuda.so.1 and retains device 0's primary context.
    pub fn load() -> Result<Cuda, CudaError> {
        // SAFETY: loading NVIDIA's driver library runs its initialisers, which is how
        // every CUDA program starts.
        let lib = unsafe { Library::new("libcuda.so.1") }
            .map_err(|e| CudaError::Library(e.to_string()))?;
        // SAFETY: each symbol is looked up with the signature cuda.h declares for it.
        let fns = unsafe {
            macro_rules! sym {
                ($name:literal) => {
                    *lib.get($name)
                        .map_err(|e| CudaError::Library(e.to_string()))?
                };
            }
            Fns {
                init: sym!(b"cuInit\0"),
                device_get: sym!(b"cuDeviceGet\0"),
                primary_ctx_retain: sym!(b"cuDevicePrimaryCtxRetain\0"),
                primary_ctx_release: sym!(b"cuDevicePrimaryCtxRelease_v2\0"),
                ctx_push: sym!(b"cuCtxPushCurrent_v2\0"),
                ctx_pop: sym!(b"cuCtxPopCurrent_v2\0"),
                ctx_synchronize: sym!(b"cuCtxSynchronize\0"),
                register_egl_image: sym!(b"cuGraphicsEGLRegisterImage\0"),
                register_gl_image: sym!(b"cuGraphicsGLRegisterImage\0"),
                unregister: sym!(b"cuGraphicsUnregisterResource\0"),
                map: sym!(b"cuGraphicsMapResources\0"),
                unmap: sym!(b"cuGraphicsUnmapResources\0"),
                mapped_array: sym!(b"cuGraphicsSubResourceGetMappedArray\0"),
                mem_alloc_pitch: sym!(b"cuMemAllocPitch_v2\0"),
                mem_free: sym!(b"cuMemFree_v2\0"),
                memcpy_2d: sym!(b"cuMemcpy2D_v2\0"),
                error_string: sym!(b"cuGetErrorString\0"),
            }
        };
        let mut cuda = Cuda {
            fns,
            device: 0,
            context: std::ptr::null_mut(),
            _lib: lib,
        };
        // SAFETY: plain driver calls with out-pointers to locals.
        unsafe {
            cuda.check("cuInit", (cuda.fns.init)(0))?;
            let mut device = 0;
            cuda.check("cuDeviceGet", (cuda.fns.device_get)(&mut device, 0))?;
            let mut context = std::ptr::null_mut();
            cuda.check(
                "cuDevicePrimaryCtxRetain",
                (cuda.fns.primary_ctx_retain)(&mut context, device),
            )?;
            cuda.device = device;
            cuda.context = context;
        }
        Ok(cuda)
    }

    /// The primary context (for FFmpeg's CUDA device context).
    pub fn context(&self) -> CuContext {
        self.context
    }

    fn check(&self, call: &'static str, code: CuResult) -> Result<(), CudaError> {
        if code == 0 {
            return Ok(());
        }
        let mut text: *const c_char = std::ptr::null();
        // SAFETY: cuGetErrorString points `text` at a static string, or leaves it null.
        let message = unsafe {
            (self.fns.error_string)(code, &mut text);
            if text.is_null() {
                "unknown error".to_owned()
            } else {
                CStr::from_ptr(text).to_string_lossy().into_owned()
            }
        };
        Err(CudaError::Call {
            call,
            message,
            code,
        })
    }

    /// Runs `f` with the context current on this thread.
    fn with_context<T>(&self, f: impl FnOnce() -> Result<T, CudaError>) -> Result<T, CudaError> {
        // SAFETY: pushing and popping the context this struct retained.
        unsafe { self.check("cuCtxPushCurrent", (self.fns.ctx_push)(self.context))? };
        let result = f();
        let mut popped = std::ptr::null_mut();
        // SAFETY: pops what was pushed above.
        unsafe { (self.fns.ctx_pop)(&mut popped) };
        result
    }

    /// Device memory of `rows` rows of `row_bytes`, pitched as the driver likes.
    pub fn alloc(&self, row_bytes: usize, rows: usize) -> Result<DeviceBuffer<'_>, CudaError> {
        self.with_context(|| {
            let (mut ptr, mut pitch) = (0, 0);
            // SAFETY: out-pointers to locals; element size 16 allows any row access.
            self.check("cuMemAllocPitch", unsafe {
                (self.fns.mem_alloc_pitch)(&mut ptr, &mut pitch, row_bytes, rows, 16)
            })?;
            Ok(DeviceBuffer {
                cuda: self,
                ptr,
                pitch,
                row_bytes,
                rows,
            })
        })
    }

    /// Registers an EGL image (of a GLES texture) for reading from CUDA.
    ///
    /// # Safety
    /// `image` must be a live EGLImageKHR of the EGL display CUDA's device drives; it
    /// must outlive the returned registration.
    pub unsafe fn register_egl_image(
        &self,
        image: *mut c_void,
    ) -> Result<Registered<'_>, CudaError> {
        self.with_context(|| {
            let mut resource = std::ptr::null_mut();
            // SAFETY: the caller vouches for `image`.
            self.check("cuGraphicsEGLRegisterImage", unsafe {
                (self.fns.register_egl_image)(
                    &mut resource,
                    image,
                    CU_GRAPHICS_REGISTER_FLAGS_READ_ONLY,
                )
            })?;
            Ok(Registered {
                cuda: self,
                resource,
            })
        })
    }

    /// Registers a GL texture (`GL_TEXTURE_2D`) of the context current on this thread
    /// for reading from CUDA (CUDA's GL interop, the other way in where EGL images
    /// are refused).
    ///
    /// # Safety
    /// A GL context owning `texture` must be current on this thread, and the texture
    /// must outlive the registration.
    pub unsafe fn register_gl_texture(&self, texture: u32) -> Result<Registered<'_>, CudaError> {
        const GL_TEXTURE_2D: c_uint = 0x0DE1;
        self.with_context(|| {
            let mut resource = std::ptr::null_mut();
            // SAFETY: the caller vouches for the current context and the texture.
            self.check("cuGraphicsGLRegisterImage", unsafe {
                (self.fns.register_gl_image)(
                    &mut resource,
                    texture,
                    GL_TEXTURE_2D,
                    CU_GRAPHICS_REGISTER_FLAGS_READ_ONLY,
                )
            })?;
            Ok(Registered {
                cuda: self,
                resource,
            })
        })
    }

    /// Waits for every copy queued in the context.
    pub fn synchronize(&self) -> Result<(), CudaError> {
        // SAFETY: a plain driver call with the context current.
        self.with_context(|| {
            self.check("cuCtxSynchronize", unsafe { (self.fns.ctx_synchronize)() })
        })
    }

    fn copy(&self, c: &Memcpy2d) -> Result<(), CudaError> {
        // SAFETY: the descriptor's addresses are checked by the callers below to cover
        // the copied rectangle.
        self.with_context(|| self.check("cuMemcpy2D", unsafe { (self.fns.memcpy_2d)(c) }))
    }
}

impl Drop for Cuda {
    fn drop(&mut self) {
        // SAFETY: releases the retain taken in `load`.
        unsafe { (self.fns.primary_ctx_release)(self.device) };
    }
}

/// Pitched device memory.
pub struct DeviceBuffer<'a> {
    cuda: &'a Cuda,
    ptr: CuDevicePtr,
    pitch: usize,
    row_bytes: usize,
    rows: usize,
}

impl DeviceBuffer<'_> {
    /// Its address.
    pub fn ptr(&self) -> CuDevicePtr {
        self.ptr
    }

    /// Bytes from row to row.
    pub fn pitch(&self) -> usize {
        self.pitch
    }

    /// Uploads `bytes` (rows of `row_bytes`, packed): the copy the zero-copy path saves.
    pub fn upload(&mut self, bytes: &[u8]) -> Result<(), CudaError> {
        if bytes.len() < self.row_bytes * self.rows {
            return Err(CudaError::Call {
                call: "upload",
                message: "too few bytes".into(),
                code: -1,
            });
        }
        self.cuda.copy(&Memcpy2d {
            src_memory_type: CU_MEMORYTYPE_HOST,
            src_host: bytes.as_ptr().cast(),
            src_pitch: self.row_bytes,
            dst_memory_type: CU_MEMORYTYPE_DEVICE,
            dst_device: self.ptr,
            dst_pitch: self.pitch,
            width_in_bytes: self.row_bytes,
            height: self.rows,
            ..Default::default()
        })
    }

    /// Downloads the buffer (rows packed), to check what arrived.
    pub fn download(&self) -> Result<Vec<u8>, CudaError> {
        let mut out = vec![0u8; self.row_bytes * self.rows];
        self.cuda.copy(&Memcpy2d {
            src_memory_type: CU_MEMORYTYPE_DEVICE,
            src_device: self.ptr,
            src_pitch: self.pitch,
            dst_memory_type: CU_MEMORYTYPE_HOST,
            dst_host: out.as_mut_ptr().cast(),
            dst_pitch: self.row_bytes,
            width_in_bytes: self.row_bytes,
            height: self.rows,
            ..Default::default()
        })?;
        Ok(out)
    }
}

impl Drop for DeviceBuffer<'_> {
    fn drop(&mut self) {
        // SAFETY: frees what cuMemAllocPitch gave, once, with the context current.
        let _ = self.cuda.with_context(|| {
            unsafe { (self.cuda.fns.mem_free)(self.ptr) };
            Ok(())
        });
    }
}

/// An EGL image registered with CUDA.
pub struct Registered<'a> {
    cuda: &'a Cuda,
    resource: CuGraphicsResource,
}

impl Registered<'_> {
    /// Maps the image and copies it, on the GPU, into `into` (its rows of bytes).
    pub fn copy_to(&mut self, into: &mut DeviceBuffer<'_>) -> Result<(), CudaError> {
        let cuda = self.cuda;
        cuda.with_context(|| {
            // SAFETY: map, read the array, unmap: the registration is live, the stream
            // is the default one, and the array lives while mapped.
            unsafe {
                cuda.check(
                    "cuGraphicsMapResources",
                    (cuda.fns.map)(1, &mut self.resource, std::ptr::null_mut()),
                )?;
                let mut array = std::ptr::null_mut();
                let got = cuda.check(
                    "cuGraphicsSubResourceGetMappedArray",
                    (cuda.fns.mapped_array)(&mut array, self.resource, 0, 0),
                );
                let copied = got.and_then(|()| {
                    cuda.check(
                        "cuMemcpy2D",
                        (cuda.fns.memcpy_2d)(&Memcpy2d {
                            src_memory_type: CU_MEMORYTYPE_ARRAY,
                            src_array: array,
                            dst_memory_type: CU_MEMORYTYPE_DEVICE,
                            dst_device: into.ptr,
                            dst_pitch: into.pitch,
                            width_in_bytes: into.row_bytes,
                            height: into.rows,
                            ..Default::default()
                        }),
                    )
                });
                (cuda.fns.unmap)(1, &mut self.resource, std::ptr::null_mut());
                copied
            }
        })
    }
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        let cuda = self.cuda;
        // SAFETY: unregisters once, with the context current.
        let _ = cuda.with_context(|| {
            unsafe { (cuda.fns.unregister)(self.resource) };
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where NVIDIA's driver is missing (CI), loading says so in words; where it is
    /// there, device memory round-trips.
    #[test]
    fn cuda_loads_or_says_why() {
        match Cuda::load() {
            Err(e) => assert!(
                e.to_string().contains("libcuda") || e.to_string().contains("cuInit"),
                "{e}"
            ),
            Ok(cuda) => {
                let mut buffer = cuda.alloc(64, 4).unwrap();
                let bytes: Vec<u8> = (0..=255).collect();
                buffer.upload(&bytes).unwrap();
                assert_eq!(buffer.download().unwrap(), bytes);
            }
        }
    }
}
