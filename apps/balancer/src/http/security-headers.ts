// The headers that lock the dashboard page down: a Content-Security-Policy that lets it load only its own files and talk only to this balancer.
import type { RequestHandler } from 'express';

/**
 * The dashboard's policy: scripts, styles, fonts and data from this origin
 * only (the Vite build emits no inline script or style; React and uPlot set
 * styles through the CSSOM, which a policy does not govern), images from here
 * or `data:` (its favicon), no plugins, no `<base>`, no framing, forms only
 * back here.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

/** Sets the dashboard's security headers on every response under /dashboard/. */
export const dashboardHeaders: RequestHandler = (_req, res, next) => {
  res.set('content-security-policy', DASHBOARD_CSP);
  res.set('x-content-type-options', 'nosniff');
  res.set('referrer-policy', 'no-referrer');
  res.set('x-frame-options', 'DENY');
  next();
};
