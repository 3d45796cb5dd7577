-- Which devices native RDP clients (mstsc, FreeRDP through the RD Gateway) may redirect on
-- each pool: local drives, printers, serial/COM ports and Plug and Play devices. The
-- clipboard follows clipboard_enabled (0003). The .rdp files the portal hands out ask only
-- for what the pool allows, and the RD Gateway tells the client the same in its tunnel
-- authorisation. Drives, ports and PnP devices carry data off the host, so they start off;
-- printers start on (Hamn's printing).
ALTER TABLE host_pools ADD COLUMN drives_enabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE host_pools ADD COLUMN printers_enabled BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE host_pools ADD COLUMN com_ports_enabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE host_pools ADD COLUMN pnp_devices_enabled BOOLEAN NOT NULL DEFAULT FALSE;
-- Whether program apps open as RemoteApp windows in native clients (the .rdp file's
-- remoteapplication* settings); off for hosts without RemoteApp support, whose desktop then
-- shows the app (the bundled demo host).
ALTER TABLE host_pools ADD COLUMN native_remote_apps BOOLEAN NOT NULL DEFAULT TRUE;
