// The day-to-day sections of the admin console, in navigation order.

export default [];
