//! The RDPDR wire format ([MS-RDPEFS], printers per [MS-RDPEPC]) as the server side needs it:
//! the client's PDUs decoded with bounds on every length and count, the server's PDUs encoded.
//!
//! Only what a print-only server uses is modelled; client PDUs of other kinds decode to
//! [`ClientPdu::Other`] so the caller can ignore them.

use thiserror::Error;

/// Largest reassembled client PDU accepted. Device announcements with cached printer
/// configuration are a few kilobytes; I/O completions of a printer are tiny.
pub const MAX_PDU_BYTES: usize = 1 << 20;
/// Most devices one Device List Announce may carry.
pub const MAX_DEVICES_PER_ANNOUNCE: u32 = 64;
/// Longest name field (computer, PnP, driver, printer name), in bytes on the wire.
pub const MAX_NAME_BYTES: usize = 2048;

const RDPDR_CTYP_CORE: u16 = 0x4472;
const RDPDR_CTYP_PRN: u16 = 0x5052;

const PAKID_CORE_SERVER_ANNOUNCE: u16 = 0x496E;
const PAKID_CORE_CLIENTID_CONFIRM: u16 = 0x4343;
const PAKID_CORE_CLIENT_NAME: u16 = 0x434E;
const PAKID_CORE_DEVICELIST_ANNOUNCE: u16 = 0x4441;
const PAKID_CORE_DEVICE_REPLY: u16 = 0x6472;
const PAKID_CORE_DEVICE_IOREQUEST: u16 = 0x4952;
const PAKID_CORE_DEVICE_IOCOMPLETION: u16 = 0x4943;
const PAKID_CORE_SERVER_CAPABILITY: u16 = 0x5350;
const PAKID_CORE_CLIENT_CAPABILITY: u16 = 0x4350;
const PAKID_CORE_DEVICELIST_REMOVE: u16 = 0x444D;
const PAKID_CORE_USER_LOGGEDON: u16 = 0x554C;

const CAP_GENERAL_TYPE: u16 = 0x0001;
const CAP_PRINTER_TYPE: u16 = 0x0002;
const GENERAL_CAPABILITY_VERSION_01: u32 = 1;
const GENERAL_CAPABILITY_VERSION_02: u32 = 2;
const PRINT_CAPABILITY_VERSION_01: u32 = 1;

/// The protocol version the server announces (12: the client echoes our client ID).
pub const VERSION_MAJOR: u16 = 1;
pub const VERSION_MINOR: u16 = 0x000C;

/// `extendedPDU` flags of the general capability set.
pub const RDPDR_DEVICE_REMOVE_PDUS: u32 = 0x1;
pub const RDPDR_CLIENT_DISPLAY_NAME_PDU: u32 = 0x2;
pub const RDPDR_USER_LOGGEDON_PDU: u32 = 0x4;

/// Device types of a DEVICE_ANNOUNCE.
pub const RDPDR_DTYP_PRINT: u32 = 0x0000_0004;

/// Flags of a printer's DeviceData ([MS-RDPEPC] 2.2.2.1).
pub const RDPDR_PRINTER_ANNOUNCE_FLAG_ASCII: u32 = 0x1;
pub const RDPDR_PRINTER_ANNOUNCE_FLAG_DEFAULTPRINTER: u32 = 0x2;

/// Major functions of a Device I/O Request.
pub const IRP_MJ_CREATE: u32 = 0x0000_0000;
pub const IRP_MJ_CLOSE: u32 = 0x0000_0002;
pub const IRP_MJ_WRITE: u32 = 0x0000_0004;

/// NTSTATUS values the server sends.
pub const STATUS_SUCCESS: u32 = 0x0000_0000;
pub const STATUS_NOT_SUPPORTED: u32 = 0xC000_00BB;

/// Why a client PDU could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("{0} is truncated")]
    Truncated(&'static str),
    #[error("PDU of {0} bytes is larger than the limit")]
    TooLarge(usize),
    #[error("{field} is invalid: {reason}")]
    Invalid { field: &'static str, reason: &'static str },
}

fn invalid(field: &'static str, reason: &'static str) -> DecodeError {
    DecodeError::Invalid { field, reason }
}

/// A bounds-checked little-endian reader; every read names what it reads for the error.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { rest: data }
    }

    fn bytes(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < len {
            return Err(DecodeError::Truncated(what));
        }
        let (head, tail) = self.rest.split_at(len);
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0; N];
        out.copy_from_slice(self.bytes(N, what)?);
        Ok(out)
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        self.array(what).map(u16::from_le_bytes)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        self.array(what).map(u32::from_le_bytes)
    }

    /// A length field followed by that many bytes, at most `max`.
    fn sized(&mut self, len: u32, max: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = usize::try_from(len).map_err(|_| invalid(what, "length out of range"))?;
        if len > max {
            return Err(invalid(what, "longer than the limit"));
        }
        self.bytes(len, what)
    }

    fn remaining(&self) -> usize {
        self.rest.len()
    }
}

/// UTF-16LE up to the first NUL (or the end); lone surrogates become U+FFFD.
fn utf16_string(bytes: &[u8]) -> String {
    let units = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .take_while(|unit| *unit != 0);
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// An 8-bit string up to the first NUL, read as Latin-1 (the client's ANSI code page is
/// unknown; ASCII, which the spec asks for, comes out right).
fn ansi_string(bytes: &[u8]) -> String {
    bytes.iter().take_while(|b| **b != 0).map(|b| char::from(*b)).collect()
}

/// A Client Core Capability Response, as far as the server cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientCapabilities {
    /// `extendedPDU` of the general capability set, if the client sent one.
    pub extended_pdu: Option<u32>,
}

/// A printer's DeviceData ([MS-RDPEPC] 2.2.2.1, DR_PRN_DEVICE_ANNOUNCE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterData {
    pub flags: u32,
    pub code_page: u32,
    pub pnp_name: String,
    pub driver_name: String,
    pub printer_name: String,
    /// Length of the cached printer configuration (not kept: the server never uses it).
    pub cached_config_len: usize,
}

/// One DEVICE_ANNOUNCE of a Client Device List Announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAnnounce {
    pub device_type: u32,
    pub device_id: u32,
    pub dos_name: String,
    /// The decoded DeviceData of a printer; `None` for other device types.
    pub printer: Option<PrinterData>,
}

/// A Device I/O Response; its type-specific body is read by [`IoCompletion::file_id`] or
/// [`IoCompletion::written`] once the caller knows which request it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoCompletion<'a> {
    pub device_id: u32,
    pub completion_id: u32,
    pub io_status: u32,
    body: &'a [u8],
}

impl IoCompletion<'_> {
    /// The FileId of a DR_CREATE_RSP.
    pub fn file_id(&self) -> Result<u32, DecodeError> {
        Reader::new(self.body).u32("DR_CREATE_RSP FileId")
    }

    /// The Length of a DR_WRITE_RSP.
    pub fn written(&self) -> Result<u32, DecodeError> {
        Reader::new(self.body).u32("DR_WRITE_RSP Length")
    }
}

/// A decoded client-to-server PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientPdu<'a> {
    /// Client Announce Reply (its version is not needed: the server speaks 1.12 to all).
    AnnounceReply { client_id: u32 },
    /// Client Name Request.
    Name { computer_name: String },
    /// Client Core Capability Response.
    Capabilities(ClientCapabilities),
    /// Client Device List Announce.
    DeviceListAnnounce(Vec<DeviceAnnounce>),
    /// Client Device List Remove.
    DeviceListRemove(Vec<u32>),
    /// Device I/O Response.
    IoCompletion(IoCompletion<'a>),
    /// A well-formed header of a PDU the server does not use.
    Other { component: u16, packet_id: u16 },
}

/// Decodes one reassembled client PDU.
pub fn decode_client_pdu(data: &[u8]) -> Result<ClientPdu<'_>, DecodeError> {
    if data.len() > MAX_PDU_BYTES {
        return Err(DecodeError::TooLarge(data.len()));
    }
    let mut r = Reader::new(data);
    let component = r.u16("RDPDR_HEADER")?;
    let packet_id = r.u16("RDPDR_HEADER")?;
    if component != RDPDR_CTYP_CORE {
        if component != RDPDR_CTYP_PRN {
            return Err(invalid("RDPDR_HEADER Component", "unknown component"));
        }
        return Ok(ClientPdu::Other { component, packet_id });
    }
    match packet_id {
        PAKID_CORE_CLIENTID_CONFIRM => {
            r.bytes(4, "Client Announce Reply")?;
            Ok(ClientPdu::AnnounceReply {
                client_id: r.u32("Client Announce Reply")?,
            })
        }
        PAKID_CORE_CLIENT_NAME => decode_client_name(&mut r),
        PAKID_CORE_CLIENT_CAPABILITY => decode_capabilities(&mut r).map(ClientPdu::Capabilities),
        PAKID_CORE_DEVICELIST_ANNOUNCE => decode_device_list(&mut r).map(ClientPdu::DeviceListAnnounce),
        PAKID_CORE_DEVICELIST_REMOVE => decode_device_remove(&mut r).map(ClientPdu::DeviceListRemove),
        PAKID_CORE_DEVICE_IOCOMPLETION => Ok(ClientPdu::IoCompletion(IoCompletion {
            device_id: r.u32("Device I/O Response")?,
            completion_id: r.u32("Device I/O Response")?,
            io_status: r.u32("Device I/O Response")?,
            body: r.rest,
        })),
        _ => Ok(ClientPdu::Other { component, packet_id }),
    }
}

fn decode_client_name(r: &mut Reader<'_>) -> Result<ClientPdu<'static>, DecodeError> {
    let unicode = r.u32("Client Name Request UnicodeFlag")? & 1 == 1;
    let _code_page = r.u32("Client Name Request CodePage")?;
    let len = r.u32("Client Name Request ComputerNameLen")?;
    let name = r.sized(len, MAX_NAME_BYTES, "Client Name Request ComputerName")?;
    let computer_name = if unicode { utf16_string(name) } else { ansi_string(name) };
    Ok(ClientPdu::Name { computer_name })
}

fn decode_capabilities(r: &mut Reader<'_>) -> Result<ClientCapabilities, DecodeError> {
    let count = r.u16("Client Core Capability Response numCapabilities")?;
    r.bytes(2, "Client Core Capability Response Padding")?;
    let mut caps = ClientCapabilities::default();
    for _ in 0..count {
        let cap_type = r.u16("CAPABILITY_HEADER")?;
        let length = r.u16("CAPABILITY_HEADER")?;
        let version = r.u32("CAPABILITY_HEADER")?;
        let body_len = usize::from(length)
            .checked_sub(8)
            .ok_or_else(|| invalid("CAPABILITY_HEADER CapabilityLength", "shorter than its header"))?;
        let mut body = Reader::new(r.bytes(body_len, "capability set")?);
        // Printer, port, drive and smart-card capabilities carry no data the server uses.
        if cap_type != CAP_GENERAL_TYPE {
            continue;
        }
        let needed = match version {
            GENERAL_CAPABILITY_VERSION_01 => 32,
            GENERAL_CAPABILITY_VERSION_02 => 36,
            _ => return Err(invalid("GENERAL_CAPS_SET Version", "unknown version")),
        };
        if body.remaining() < needed {
            return Err(DecodeError::Truncated("GENERAL_CAPS_SET"));
        }
        // osType, osVersion, protocol version, ioCode1, ioCode2.
        body.bytes(20, "GENERAL_CAPS_SET")?;
        caps.extended_pdu = Some(body.u32("GENERAL_CAPS_SET extendedPDU")?);
    }
    Ok(caps)
}

fn decode_device_list(r: &mut Reader<'_>) -> Result<Vec<DeviceAnnounce>, DecodeError> {
    let count = r.u32("Client Device List Announce DeviceCount")?;
    if count > MAX_DEVICES_PER_ANNOUNCE {
        return Err(invalid("Client Device List Announce DeviceCount", "too many devices"));
    }
    let mut devices = Vec::new();
    for _ in 0..count {
        let device_type = r.u32("DEVICE_ANNOUNCE DeviceType")?;
        let device_id = r.u32("DEVICE_ANNOUNCE DeviceId")?;
        let dos_name = ansi_string(r.bytes(8, "DEVICE_ANNOUNCE PreferredDosName")?);
        let data_len = r.u32("DEVICE_ANNOUNCE DeviceDataLength")?;
        let data = r.sized(data_len, MAX_PDU_BYTES, "DEVICE_ANNOUNCE DeviceData")?;
        let printer = if device_type == RDPDR_DTYP_PRINT {
            Some(decode_printer_data(data)?)
        } else {
            None
        };
        devices.push(DeviceAnnounce {
            device_type,
            device_id,
            dos_name,
            printer,
        });
    }
    Ok(devices)
}

fn decode_printer_data(data: &[u8]) -> Result<PrinterData, DecodeError> {
    let mut r = Reader::new(data);
    let flags = r.u32("DR_PRN_DEVICE_ANNOUNCE Flags")?;
    let code_page = r.u32("DR_PRN_DEVICE_ANNOUNCE CodePage")?;
    let pnp_len = r.u32("DR_PRN_DEVICE_ANNOUNCE PnPNameLen")?;
    let driver_len = r.u32("DR_PRN_DEVICE_ANNOUNCE DriverNameLen")?;
    let print_len = r.u32("DR_PRN_DEVICE_ANNOUNCE PrintNameLen")?;
    let cached_len = r.u32("DR_PRN_DEVICE_ANNOUNCE CachedFieldsLen")?;
    let text = |bytes: &[u8]| {
        if flags & RDPDR_PRINTER_ANNOUNCE_FLAG_ASCII != 0 {
            ansi_string(bytes)
        } else {
            utf16_string(bytes)
        }
    };
    let pnp_name = text(r.sized(pnp_len, MAX_NAME_BYTES, "DR_PRN_DEVICE_ANNOUNCE PnPName")?);
    let driver_name = text(r.sized(driver_len, MAX_NAME_BYTES, "DR_PRN_DEVICE_ANNOUNCE DriverName")?);
    let printer_name = text(r.sized(print_len, MAX_NAME_BYTES, "DR_PRN_DEVICE_ANNOUNCE PrintName")?);
    let cached = r.sized(
        cached_len,
        MAX_PDU_BYTES,
        "DR_PRN_DEVICE_ANNOUNCE CachedPrinterConfigData",
    )?;
    if printer_name.is_empty() {
        return Err(invalid("DR_PRN_DEVICE_ANNOUNCE PrintName", "empty"));
    }
    Ok(PrinterData {
        flags,
        code_page,
        pnp_name,
        driver_name,
        printer_name,
        cached_config_len: cached.len(),
    })
}

fn decode_device_remove(r: &mut Reader<'_>) -> Result<Vec<u32>, DecodeError> {
    let count = r.u32("Client Device List Remove DeviceCount")?;
    if count > MAX_DEVICES_PER_ANNOUNCE {
        return Err(invalid("Client Device List Remove DeviceCount", "too many devices"));
    }
    (0..count)
        .map(|_| r.u32("Client Device List Remove DeviceIds"))
        .collect()
}

/// A server PDU under construction: the RDPDR header, then little-endian fields.
struct Writer(Vec<u8>);

impl Writer {
    fn new(packet_id: u16) -> Self {
        let mut w = Self(Vec::new());
        w.u16(RDPDR_CTYP_CORE).u16(packet_id);
        w
    }

    fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    fn zeros(&mut self, n: usize) -> &mut Self {
        self.0.resize(self.0.len() + n, 0);
        self
    }

    fn io_request(packet: &mut Self, device_id: u32, file_id: u32, completion_id: u32, major: u32) {
        packet.u32(device_id).u32(file_id).u32(completion_id).u32(major).u32(0);
    }
}

/// Server Announce Request.
pub fn server_announce(client_id: u32) -> Vec<u8> {
    let mut w = Writer::new(PAKID_CORE_SERVER_ANNOUNCE);
    w.u16(VERSION_MAJOR).u16(VERSION_MINOR).u32(client_id);
    w.0
}

/// Server Core Capability Request: general (version 2) and printer, nothing else, so clients
/// announce printers only.
pub fn server_capabilities() -> Vec<u8> {
    let mut w = Writer::new(PAKID_CORE_SERVER_CAPABILITY);
    w.u16(2).u16(0);
    // General: osType, osVersion (ignored), protocol 1.12, ioCode1 (all basic IRPs),
    // ioCode2, extendedPDU, extraFlags1, extraFlags2, SpecialTypeDeviceCap.
    w.u16(CAP_GENERAL_TYPE).u16(44).u32(GENERAL_CAPABILITY_VERSION_02);
    w.u32(2).u32(0).u16(VERSION_MAJOR).u16(VERSION_MINOR).u32(0xFFFF).u32(0);
    w.u32(RDPDR_DEVICE_REMOVE_PDUS | RDPDR_CLIENT_DISPLAY_NAME_PDU | RDPDR_USER_LOGGEDON_PDU);
    w.u32(0).u32(0).u32(0);
    w.u16(CAP_PRINTER_TYPE).u16(8).u32(PRINT_CAPABILITY_VERSION_01);
    w.0
}

/// Server Client ID Confirm.
pub fn client_id_confirm(client_id: u32) -> Vec<u8> {
    let mut w = Writer::new(PAKID_CORE_CLIENTID_CONFIRM);
    w.u16(VERSION_MAJOR).u16(VERSION_MINOR).u32(client_id);
    w.0
}

/// Server User Logged On.
pub fn user_logged_on() -> Vec<u8> {
    Writer::new(PAKID_CORE_USER_LOGGEDON).0
}

/// Server Device Announce Response.
pub fn device_announce_response(device_id: u32, status: u32) -> Vec<u8> {
    let mut w = Writer::new(PAKID_CORE_DEVICE_REPLY);
    w.u32(device_id).u32(status);
    w.0
}

/// DR_CREATE_REQ opening a print job on a printer (no path, as Windows opens printers).
pub fn create_request(device_id: u32, completion_id: u32) -> Vec<u8> {
    const GENERIC_WRITE: u32 = 0x4000_0000;
    const FILE_SHARE_READ_WRITE: u32 = 0x3;
    const FILE_OVERWRITE_IF: u32 = 0x5;
    let mut w = Writer::new(PAKID_CORE_DEVICE_IOREQUEST);
    Writer::io_request(&mut w, device_id, 0, completion_id, IRP_MJ_CREATE);
    w.u32(GENERIC_WRITE).u64(0).u32(0).u32(FILE_SHARE_READ_WRITE);
    w.u32(FILE_OVERWRITE_IF).u32(0).u32(0);
    w.0
}

/// DR_WRITE_REQ carrying `data` at `offset` of the job.
pub fn write_request(device_id: u32, file_id: u32, completion_id: u32, offset: u64, data: &[u8]) -> Vec<u8> {
    let mut w = Writer::new(PAKID_CORE_DEVICE_IOREQUEST);
    Writer::io_request(&mut w, device_id, file_id, completion_id, IRP_MJ_WRITE);
    // Callers send at most a few tens of KiB per request.
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    w.u32(len).u64(offset).zeros(20);
    w.0.extend_from_slice(data);
    w.0
}

/// DR_CLOSE_REQ ending the print job.
pub fn close_request(device_id: u32, file_id: u32, completion_id: u32) -> Vec<u8> {
    let mut w = Writer::new(PAKID_CORE_DEVICE_IOREQUEST);
    Writer::io_request(&mut w, device_id, file_id, completion_id, IRP_MJ_CLOSE);
    w.zeros(32);
    w.0
}
