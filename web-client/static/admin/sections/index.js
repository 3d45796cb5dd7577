// Every section of the admin console, in navigation order. A section module's default
// export: { id, label: {sv, en}, roles?: ["operator", "tenant_admin"], texts?: {sv, en},
// render(container, ctx) → optional cleanup function }; see app.js for `ctx`.
// `configuration.js`: set-up (tenants, environments, pools and hosts, apps and rollouts,
// groups and entitlements); `operations.js`: day to day (sessions, service windows,
// quotas, access review, audit, security events); `notices.js`: messages to portal users;
// `incidents.js`: incidents on the status page.

import configuration from "./configuration.js";
import operations from "./operations.js";
import notices from "./notices.js";
import incidents from "./incidents.js";

export default [...configuration, ...operations, ...notices, ...incidents];
