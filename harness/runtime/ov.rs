//! A small safe layer over the OpenVINO C API (`openvino-sys`, runtime-linked).
//!
//! Why not the `openvino` crate's high-level types: its `compile_model` passes no
//! properties and its `Model` pointer is crate-private, while the NPU plugin honours the
//! NPUW keys only when they are passed at compile time (checked: set on the core they are
//! accepted and ignored). The C API's non-variadic `ov_core_compile_model_props` takes them;
//! older releases (2026.3) have only the variadic `ov_core_compile_model`, called here too.

use openvino_sys as sys;
use std::ffi::{c_char, c_void, CStr, CString};
use std::path::Path;
use std::ptr;

/// An OpenVINO call failed: which call, its status and OpenVINO's own message.
#[derive(Debug, thiserror::Error)]
#[error("{call} failed ({status}): {message}")]
pub struct OvError {
    /// The C function that failed.
    pub call: &'static str,
    /// The status name (GENERAL_ERROR, NOT_FOUND, ...).
    pub status: String,
    /// OpenVINO's last error message, trimmed.
    pub message: String,
}

/// Result of an OpenVINO call.
pub type OvResult<T> = Result<T, OvError>;

fn check(call: &'static str, status: sys::ov_status_e) -> OvResult<()> {
    if status == sys::ov_status_e::OK {
        return Ok(());
    }
    // SAFETY: ov_get_last_err_msg returns a thread-local C string (or null).
    let message = unsafe {
        let p = sys::ov_get_last_err_msg();
        if p.is_null() {
            String::new()
        } else {
            CStr::from_ptr(p).to_string_lossy().trim().to_string()
        }
    };
    Err(OvError { call, status: format!("{status:?}"), message })
}

fn cstring(s: &str) -> CString {
    CString::new(s).expect("strings passed to OpenVINO have no interior NUL")
}

/// Take ownership of a C string OpenVINO allocated, freeing it with `ov_free`.
///
/// # Safety
/// `p` must be a string returned by an OpenVINO getter (or null).
unsafe fn take_string(p: *mut c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    let s = CStr::from_ptr(p).to_string_lossy().into_owned();
    sys::ov_free(p);
    s
}

/// `libopenvino_c` could not be loaded (the loader's message).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LibraryError(pub String);

/// Load `libopenvino_c` from a file. Must happen once, before any other call.
pub fn load_library(path: &Path) -> Result<(), LibraryError> {
    sys::library::load_from(path).map_err(|e| LibraryError(e.to_string()))?;
    let _ = LIBRARY_PATH.set(path.to_path_buf());
    Ok(())
}

/// The OpenVINO version the loaded library reports: (build number, description).
pub fn version() -> OvResult<(String, String)> {
    let mut v = sys::ov_version_t { buildNumber: ptr::null(), description: ptr::null() };
    // SAFETY: v is a valid out-parameter, freed with ov_version_free below.
    unsafe {
        check("ov_get_openvino_version", sys::ov_get_openvino_version(&mut v))?;
        let build = CStr::from_ptr(v.buildNumber).to_string_lossy().into_owned();
        let desc = CStr::from_ptr(v.description).to_string_lossy().into_owned();
        sys::ov_version_free(&mut v);
        Ok((build, desc))
    }
}

/// `ov_core_t`: the entry point; owns the plugins.
pub struct Core {
    ptr: *mut sys::ov_core_t,
}

// SAFETY: ov::Core is thread-safe for the calls bakeoff makes.
unsafe impl Send for Core {}

impl Drop for Core {
    fn drop(&mut self) {
        // SAFETY: ptr came from ov_core_create.
        unsafe { sys::ov_core_free(self.ptr) }
    }
}

impl Core {
    /// Create a core; the plugins are found beside the library (no plugins.xml needed).
    pub fn new() -> OvResult<Self> {
        let mut ptr = ptr::null_mut();
        // SAFETY: out-parameter.
        check("ov_core_create", unsafe { sys::ov_core_create(&mut ptr) })?;
        Ok(Core { ptr })
    }

    /// The devices OpenVINO can use on this machine (`CPU`, `NPU`, `GPU.0`, ...).
    pub fn available_devices(&self) -> OvResult<Vec<String>> {
        let mut list = sys::ov_available_devices_t { devices: ptr::null_mut(), size: 0 };
        // SAFETY: list is filled by OpenVINO and freed below.
        unsafe {
            check("ov_core_get_available_devices", sys::ov_core_get_available_devices(self.ptr, &mut list))?;
            let out =
                (0..list.size).map(|i| CStr::from_ptr(*list.devices.add(i)).to_string_lossy().into_owned()).collect();
            sys::ov_available_devices_free(&mut list);
            Ok(out)
        }
    }

    /// A device property as a string (`FULL_DEVICE_NAME`, `SUPPORTED_PROPERTIES`, ...).
    pub fn device_property(&self, device: &str, key: &str) -> OvResult<String> {
        let (d, k) = (cstring(device), cstring(key));
        let mut value = ptr::null_mut();
        // SAFETY: value is freed by take_string.
        unsafe {
            check("ov_core_get_property", sys::ov_core_get_property(self.ptr, d.as_ptr(), k.as_ptr(), &mut value))?;
            Ok(take_string(value))
        }
    }

    /// Read an IR (`.xml` + `.bin`).
    pub fn read_model(&self, xml: &Path, bin: &Path) -> OvResult<Model> {
        let (x, b) = (cstring(&xml.to_string_lossy()), cstring(&bin.to_string_lossy()));
        let mut ptr = ptr::null_mut();
        // SAFETY: out-parameter.
        check("ov_core_read_model", unsafe { sys::ov_core_read_model(self.ptr, x.as_ptr(), b.as_ptr(), &mut ptr) })?;
        Ok(Model { ptr })
    }

    /// Compile a model for a device with the given properties (key, value).
    pub fn compile_model(
        &self,
        model: &Model,
        device: &str,
        properties: &[(String, String)],
    ) -> OvResult<CompiledModel> {
        let d = cstring(device);
        let owned: Vec<(CString, CString)> = properties.iter().map(|(k, v)| (cstring(k), cstring(v))).collect();
        let props: Vec<sys::ov_property_t> = owned
            .iter()
            .map(|(k, v)| sys::ov_property_t { key: k.as_ptr(), value: v.as_ptr().cast::<c_void>() })
            .collect();
        let mut ptr = ptr::null_mut();
        let Some(variadic) = compile_variadic() else {
            // SAFETY: the property strings live in `owned` until after the call.
            check("ov_core_compile_model_props", unsafe {
                sys::ov_core_compile_model_props(
                    self.ptr,
                    model.ptr,
                    d.as_ptr(),
                    props.len(),
                    if props.is_empty() { ptr::null() } else { props.as_ptr() },
                    &mut ptr,
                )
            })?;
            return Ok(CompiledModel { ptr });
        };
        let kv: Vec<(*const c_char, *const c_char)> = owned.iter().map(|(k, v)| (k.as_ptr(), v.as_ptr())).collect();
        // The variadic form takes its pairs as C varargs: one call shape per count.
        macro_rules! call {
            ($($i:tt)*) => {
                // SAFETY: `variadic` is ov_core_compile_model of the loaded library; the
                // strings live in `owned` until after the call; 2 x pairs args follow.
                unsafe { variadic(self.ptr, model.ptr, d.as_ptr(), 2 * kv.len(), &mut ptr $(, kv[$i].0, kv[$i].1)*) }
            };
        }
        let status = match kv.len() {
            0 => call!(),
            1 => call!(0),
            2 => call!(0 1),
            3 => call!(0 1 2),
            4 => call!(0 1 2 3),
            5 => call!(0 1 2 3 4),
            6 => call!(0 1 2 3 4 5),
            7 => call!(0 1 2 3 4 5 6),
            8 => call!(0 1 2 3 4 5 6 7),
            9 => call!(0 1 2 3 4 5 6 7 8),
            10 => call!(0 1 2 3 4 5 6 7 8 9),
            11 => call!(0 1 2 3 4 5 6 7 8 9 10),
            12 => call!(0 1 2 3 4 5 6 7 8 9 10 11),
            13 => call!(0 1 2 3 4 5 6 7 8 9 10 11 12),
            14 => call!(0 1 2 3 4 5 6 7 8 9 10 11 12 13),
            15 => call!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14),
            16 => call!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15),
            n => {
                return Err(OvError {
                    call: "ov_core_compile_model",
                    status: "INVALID_C_PARAM".into(),
                    message: format!("{n} compile properties; this OpenVINO's C API takes at most 16 in one call"),
                })
            }
        };
        check("ov_core_compile_model", status)?;
        Ok(CompiledModel { ptr })
    }
}

/// `ov_core_compile_model`: properties as C varargs (key, value, key, value, ...).
type CompileVariadic = unsafe extern "C" fn(
    *const sys::ov_core_t,
    *const sys::ov_model_t,
    *const c_char,
    usize,
    *mut *mut sys::ov_compiled_model_t,
    ...
) -> sys::ov_status_e;

/// The loaded `libopenvino_c`, for symbols openvino-sys cannot call.
static LIBRARY_PATH: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// The variadic compile, when the loaded library lacks `ov_core_compile_model_props`
/// (OpenVINO before 2026.4: checked on 2026.3.1, whose C API has only the variadic form).
/// openvino-sys declares the variadic function without its `...`, so it is looked up here.
fn compile_variadic() -> Option<CompileVariadic> {
    static FOUND: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    let addr = FOUND.get_or_init(|| {
        let path = cstring(&LIBRARY_PATH.get()?.to_string_lossy());
        // SAFETY: RTLD_NOLOAD returns the library openvino-sys already loaded (or null); the
        // handle is never closed, the library stays for the process's life.
        let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD) };
        if handle.is_null() {
            return None;
        }
        // SAFETY: dlsym on a live handle with NUL-terminated names.
        let has_props = !unsafe { libc::dlsym(handle, c"ov_core_compile_model_props".as_ptr()) }.is_null();
        let variadic = unsafe { libc::dlsym(handle, c"ov_core_compile_model".as_ptr()) };
        (!has_props && !variadic.is_null()).then_some(variadic as usize)
    });
    // SAFETY: the address is ov_core_compile_model, whose C signature CompileVariadic is.
    addr.map(|a| unsafe { std::mem::transmute::<usize, CompileVariadic>(a) })
}

/// `ov_model_t`: a read, not yet compiled, model.
pub struct Model {
    ptr: *mut sys::ov_model_t,
}

// SAFETY: the model is only read after creation.
unsafe impl Send for Model {}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: ptr came from ov_core_read_model.
        unsafe { sys::ov_model_free(self.ptr) }
    }
}

/// The property names of a `SUPPORTED_PROPERTIES` value as the C API writes it: names
/// separated by white space, each possibly followed by `:RO` or `:RW`.
pub fn property_names(raw: &str) -> Vec<String> {
    raw.split_whitespace().map(|s| s.split(':').next().unwrap_or(s).to_string()).filter(|s| !s.is_empty()).collect()
}

/// `ov_compiled_model_t`: a model compiled for a device.
pub struct CompiledModel {
    ptr: *mut sys::ov_compiled_model_t,
}

// SAFETY: compiled models are thread-safe in OpenVINO.
unsafe impl Send for CompiledModel {}

impl Drop for CompiledModel {
    fn drop(&mut self) {
        // SAFETY: ptr came from ov_core_compile_model_props.
        unsafe { sys::ov_compiled_model_free(self.ptr) }
    }
}

impl CompiledModel {
    /// A property of the compiled model as a string (`EXECUTION_DEVICES`, `LOADED_FROM_CACHE`, ...).
    pub fn property(&self, key: &str) -> OvResult<String> {
        let k = cstring(key);
        let mut value = ptr::null_mut();
        // SAFETY: value is freed by take_string.
        unsafe {
            check(
                "ov_compiled_model_get_property",
                sys::ov_compiled_model_get_property(self.ptr, k.as_ptr(), &mut value),
            )?;
            Ok(take_string(value))
        }
    }

    /// The keys the compiled model declares in its `SUPPORTED_PROPERTIES`.
    pub fn supported_properties(&self) -> OvResult<Vec<String>> {
        Ok(property_names(&self.property("SUPPORTED_PROPERTIES")?))
    }

    /// A new infer request (with fresh variable state for a stateful model).
    pub fn create_infer_request(&self) -> OvResult<InferRequest> {
        let mut ptr = ptr::null_mut();
        // SAFETY: out-parameter.
        check("ov_compiled_model_create_infer_request", unsafe {
            sys::ov_compiled_model_create_infer_request(self.ptr, &mut ptr)
        })?;
        Ok(InferRequest { ptr })
    }
}

/// `ov_infer_request_t`: one execution context of a compiled model.
pub struct InferRequest {
    ptr: *mut sys::ov_infer_request_t,
}

// SAFETY: a request is used from one thread at a time.
unsafe impl Send for InferRequest {}

impl Drop for InferRequest {
    fn drop(&mut self) {
        // SAFETY: ptr came from ov_compiled_model_create_infer_request.
        unsafe { sys::ov_infer_request_free(self.ptr) }
    }
}

impl InferRequest {
    /// Bind a tensor to the input or output called `name`.
    pub fn set_tensor(&mut self, name: &CStr, tensor: &Tensor) -> OvResult<()> {
        // SAFETY: both pointers are valid; OpenVINO keeps its own reference to the tensor.
        check("ov_infer_request_set_tensor", unsafe {
            sys::ov_infer_request_set_tensor(self.ptr, name.as_ptr(), tensor.ptr)
        })
    }

    /// The tensor bound to `name` (a new handle sharing the request's memory).
    pub fn tensor(&self, name: &CStr) -> OvResult<Tensor> {
        let mut ptr = ptr::null_mut();
        // SAFETY: out-parameter; the handle is freed by Tensor's Drop.
        check("ov_infer_request_get_tensor", unsafe {
            sys::ov_infer_request_get_tensor(self.ptr, name.as_ptr(), &mut ptr)
        })?;
        Ok(Tensor { ptr })
    }

    /// Run inference synchronously.
    pub fn infer(&mut self) -> OvResult<()> {
        // SAFETY: valid request.
        check("ov_infer_request_infer", unsafe { sys::ov_infer_request_infer(self.ptr) })
    }
}

/// Element types bakeoff exchanges with models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementType {
    /// 64-bit integers (ids, masks, positions).
    I64,
    /// 32-bit integers (beam_idx).
    I32,
    /// 32-bit floats (logits).
    F32,
}

impl ElementType {
    fn to_sys(self) -> sys::ov_element_type_e {
        match self {
            ElementType::I64 => sys::ov_element_type_e::I64,
            ElementType::I32 => sys::ov_element_type_e::I32,
            ElementType::F32 => sys::ov_element_type_e::F32,
        }
    }

    fn from_sys(t: sys::ov_element_type_e) -> Option<Self> {
        match t {
            sys::ov_element_type_e::I64 => Some(ElementType::I64),
            sys::ov_element_type_e::I32 => Some(ElementType::I32),
            sys::ov_element_type_e::F32 => Some(ElementType::F32),
            _ => None,
        }
    }
}

/// Plain-old-data element types a tensor can be viewed as.
pub trait Element: Copy {
    /// The matching OpenVINO element type.
    const TYPE: ElementType;
}
impl Element for i64 {
    const TYPE: ElementType = ElementType::I64;
}
impl Element for i32 {
    const TYPE: ElementType = ElementType::I32;
}
impl Element for f32 {
    const TYPE: ElementType = ElementType::F32;
}

/// `ov_tensor_t`: host memory with a shape and an element type.
pub struct Tensor {
    ptr: *mut sys::ov_tensor_t,
}

// SAFETY: tensors are plain memory.
unsafe impl Send for Tensor {}

impl Drop for Tensor {
    fn drop(&mut self) {
        // SAFETY: ptr came from ov_tensor_create or ov_infer_request_get_tensor.
        unsafe { sys::ov_tensor_free(self.ptr) }
    }
}

fn with_shape<T>(dims: &[i64], f: impl FnOnce(sys::ov_shape_t) -> OvResult<T>) -> OvResult<T> {
    let mut shape = sys::ov_shape_t { rank: 0, dims: ptr::null_mut() };
    // SAFETY: ov_shape_create copies dims; the shape is freed below.
    unsafe {
        check("ov_shape_create", sys::ov_shape_create(dims.len() as i64, dims.as_ptr(), &mut shape))?;
    }
    let out = f(shape);
    // SAFETY: created above.
    unsafe { sys::ov_shape_free(&mut shape) };
    out
}

impl Tensor {
    /// Allocate a host tensor.
    pub fn new(element: ElementType, dims: &[i64]) -> OvResult<Self> {
        with_shape(dims, |shape| {
            let mut ptr = ptr::null_mut();
            // SAFETY: out-parameter.
            check("ov_tensor_create", unsafe { sys::ov_tensor_create(element.to_sys(), shape, &mut ptr) })?;
            Ok(Tensor { ptr })
        })
    }

    /// Change the shape; memory is kept while the new size fits the allocation.
    pub fn set_shape(&mut self, dims: &[i64]) -> OvResult<()> {
        // SAFETY: valid tensor.
        with_shape(dims, |shape| check("ov_tensor_set_shape", unsafe { sys::ov_tensor_set_shape(self.ptr, shape) }))
    }

    /// The current shape.
    pub fn shape(&self) -> OvResult<Vec<i64>> {
        let mut shape = sys::ov_shape_t { rank: 0, dims: ptr::null_mut() };
        // SAFETY: OpenVINO fills the shape; freed below.
        unsafe {
            check("ov_tensor_get_shape", sys::ov_tensor_get_shape(self.ptr, &mut shape))?;
            let dims = std::slice::from_raw_parts(shape.dims, shape.rank as usize).to_vec();
            sys::ov_shape_free(&mut shape);
            Ok(dims)
        }
    }

    fn element_type(&self) -> OvResult<Option<ElementType>> {
        let mut t = sys::ov_element_type_e::DYNAMIC;
        // SAFETY: out-parameter.
        check("ov_tensor_get_element_type", unsafe { sys::ov_tensor_get_element_type(self.ptr, &mut t) })?;
        Ok(ElementType::from_sys(t))
    }

    fn raw(&self) -> OvResult<(*mut c_void, usize)> {
        let mut data = ptr::null_mut();
        let mut size = 0usize;
        // SAFETY: out-parameters.
        unsafe {
            check("ov_tensor_data", sys::ov_tensor_data(self.ptr, &mut data))?;
            check("ov_tensor_get_size", sys::ov_tensor_get_size(self.ptr, &mut size))?;
        }
        Ok((data, size))
    }

    fn typed<T: Element>(&self) -> OvResult<(*mut c_void, usize)> {
        let actual = self.element_type()?;
        if actual != Some(T::TYPE) {
            return Err(OvError {
                call: "Tensor::data",
                status: "TYPE_MISMATCH".into(),
                message: format!("tensor holds {actual:?}, asked for {:?}", T::TYPE),
            });
        }
        self.raw()
    }

    /// The elements, read-only, without copying.
    pub fn data<T: Element>(&self) -> OvResult<&[T]> {
        let (p, n) = self.typed::<T>()?;
        // SAFETY: OpenVINO owns n elements of T at p for the tensor's lifetime.
        Ok(unsafe { std::slice::from_raw_parts(p.cast::<T>(), n) })
    }

    /// The elements, writable in place.
    pub fn data_mut<T: Element>(&mut self) -> OvResult<&mut [T]> {
        let (p, n) = self.typed::<T>()?;
        // SAFETY: as above, and &mut self guarantees exclusive access through this handle.
        Ok(unsafe { std::slice::from_raw_parts_mut(p.cast::<T>(), n) })
    }
}
