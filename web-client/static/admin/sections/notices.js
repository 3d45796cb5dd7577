// Messages from admins shown as banners in the portal.

export default [];
