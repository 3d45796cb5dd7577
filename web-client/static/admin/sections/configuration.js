// The set-up sections of the admin console, in navigation order.

export default [];
