-- Which printer driver the gateway asks a Windows host to use for the printer it redirects
-- into browser sessions: 'pdf' ("Microsoft Print to PDF", the host spools PDF that passes
-- through) or 'postscript' ("MS Publisher Imagesetter", converted by Ghostscript on the print
-- service). Whether a printer is redirected at all is printers_enabled (0013).
ALTER TABLE host_pools ADD COLUMN print_driver TEXT NOT NULL DEFAULT 'pdf'
    CHECK (print_driver IN ('pdf', 'postscript'));
