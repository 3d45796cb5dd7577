// The day-to-day sections of the admin console, in navigation order.

import sessions from "./sessions.js";
import serviceWindows from "./service-windows.js";
import quotas from "./quotas.js";
import accessReview from "./access-review.js";
import audit from "./audit.js";
import securityEvents from "./security-events.js";

export default [sessions, serviceWindows, quotas, accessReview, audit, securityEvents];
