//! SAML 2.0 service provider per tenant: the parts the admin API (judging IdP metadata
//! before it is stored) and the gateway (the SP endpoints under `/saml/{tenant}/`) share.
//! samael does the XML, signatures (xmlsec, libxmlsec1) and schema types; everything it
//! leaves to the application is here: [`prescan`] (bounded first look, wrapping shapes,
//! comments), [`metadata`] (signing certificate required, `validUntil`, certificate
//! expiry), [`response`] (algorithms, signature reduction, Destination/Recipient,
//! InResponseTo, audience required, MFA class, time windows), [`decrypt`] (encrypted
//! assertions without samael's panics), [`request`] (AuthnRequest/LogoutRequest over
//! HTTP-Redirect, signed), [`sp`] (our key, certificate and metadata) and [`provision`]
//! (just-in-time users and group memberships from attributes).

pub mod decrypt;
pub mod demo_idp;
pub mod fetch;
pub mod inflate;
pub mod metadata;
pub mod prescan;
pub mod provision;
pub mod request;
pub mod response;
pub mod sp;

pub use metadata::{IdpMetadata, MetadataError};
pub use prescan::{PrescanError, Scanned};
pub use response::{SamlRefusal, SpExpectations, VerifiedLogin};
pub use sp::{SpCredentials, SpUrls};
