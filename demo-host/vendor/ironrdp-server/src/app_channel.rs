//! Hamn demo-host patch: lets the application attach one static virtual channel of its own
//! (any `SvcProcessor`, e.g. an RDPDR server) and send on it with
//! [`ServerEvent::StaticChannel`](crate::ServerEvent::StaticChannel).

use ironrdp_core::impl_as_any;
use ironrdp_pdu::PduResult;
use ironrdp_pdu::gcc::ChannelName;
use ironrdp_svc::{CompressionCondition, SvcMessage, SvcProcessor, SvcServerProcessor};

use crate::ServerEventSender;

/// Builds the application's static channel for each connection.
pub trait StaticChannelServerFactory: ServerEventSender + Send {
    fn build_static_channel(&self) -> Box<dyn SvcProcessor>;
}

/// The application's processor behind one concrete type, as the channel set needs one.
#[derive(Debug)]
pub(crate) struct AppChannel(pub(crate) Box<dyn SvcProcessor>);

impl_as_any!(AppChannel);

impl SvcProcessor for AppChannel {
    fn channel_name(&self) -> ChannelName {
        self.0.channel_name()
    }

    fn compression_condition(&self) -> CompressionCondition {
        self.0.compression_condition()
    }

    fn start(&mut self) -> PduResult<Vec<SvcMessage>> {
        self.0.start()
    }

    fn process(&mut self, payload: &[u8]) -> PduResult<Vec<SvcMessage>> {
        self.0.process(payload)
    }
}

impl SvcServerProcessor for AppChannel {}
