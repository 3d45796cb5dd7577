// The set-up sections of the admin console, in navigation order: tenants (with their IdP
// and web-session settings), environments, pools and hosts, apps with their versions and
// rollouts, and groups, users and entitlements.

import tenants from "./tenants.js";
import environments from "./environments.js";
import hosts from "./hosts.js";
import apps from "./apps.js";
import groups from "./groups.js";

export default [tenants, environments, hosts, apps, groups];
