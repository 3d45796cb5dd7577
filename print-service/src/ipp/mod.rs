//! IPP Everywhere at `POST /ipp/print/{token}`: the codec ([`codec`], sans-IO and
//! bounded), the printer's and jobs' attributes ([`attributes`]), and the endpoint that
//! resolves the token, runs the operations and hands documents to [`crate::jobs`]
//! ([`endpoint`]). The token alone decides whose job it is; `requesting-user-name` is
//! recorded and never trusted.

pub mod attributes;
pub mod codec;
pub mod endpoint;

/// Operation ids (RFC 8011, PWG 5100.11/5100.13).
pub mod op {
    pub const PRINT_JOB: u16 = 0x0002;
    pub const VALIDATE_JOB: u16 = 0x0004;
    pub const CREATE_JOB: u16 = 0x0005;
    pub const SEND_DOCUMENT: u16 = 0x0006;
    pub const CANCEL_JOB: u16 = 0x0008;
    pub const GET_JOB_ATTRIBUTES: u16 = 0x0009;
    pub const GET_JOBS: u16 = 0x000A;
    pub const GET_PRINTER_ATTRIBUTES: u16 = 0x000B;
    pub const CANCEL_MY_JOBS: u16 = 0x0039;
    pub const CLOSE_JOB: u16 = 0x003B;
    pub const IDENTIFY_PRINTER: u16 = 0x003C;

    /// What this printer does, for operations-supported.
    pub const SUPPORTED: [u16; 11] = [
        PRINT_JOB,
        VALIDATE_JOB,
        CREATE_JOB,
        SEND_DOCUMENT,
        CANCEL_JOB,
        GET_JOB_ATTRIBUTES,
        GET_JOBS,
        GET_PRINTER_ATTRIBUTES,
        CANCEL_MY_JOBS,
        CLOSE_JOB,
        IDENTIFY_PRINTER,
    ];
}

/// Status codes.
pub mod status {
    pub const OK: u16 = 0x0000;
    pub const BAD_REQUEST: u16 = 0x0400;
    pub const NOT_POSSIBLE: u16 = 0x0404;
    pub const NOT_FOUND: u16 = 0x0406;
    pub const REQUEST_ENTITY_TOO_LARGE: u16 = 0x0408;
    pub const DOCUMENT_FORMAT_NOT_SUPPORTED: u16 = 0x040A;
    pub const ATTRIBUTES_OR_VALUES_NOT_SUPPORTED: u16 = 0x040B;
    pub const DOCUMENT_FORMAT_ERROR: u16 = 0x0411;
    pub const INTERNAL_ERROR: u16 = 0x0500;
    pub const OPERATION_NOT_SUPPORTED: u16 = 0x0501;
    pub const VERSION_NOT_SUPPORTED: u16 = 0x0503;
    pub const MULTIPLE_DOCUMENT_JOBS_NOT_SUPPORTED: u16 = 0x0509;
}

/// IPP job-state values.
pub mod job_state {
    pub const PENDING: i32 = 3;
    pub const PROCESSING: i32 = 5;
    pub const CANCELED: i32 = 7;
    pub const ABORTED: i32 = 8;
    pub const COMPLETED: i32 = 9;
}
