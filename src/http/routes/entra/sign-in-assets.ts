// The sign-in page's style sheet and the form_post answer's script, served as files of this server
// (the pages' CSP allows nothing inline). Kept as text in a module so dist/ holds them without a copy step.

export const ENTRA_ASSETS_PATH = '/_entra/assets';

export const SIGN_IN_STYLES = `
body { font-family: "Segoe UI", system-ui, sans-serif; background: #f2f2f2; margin: 0; }
main { max-width: 440px; margin: 10vh auto; background: #fff; padding: 44px; box-shadow: 0 2px 6px rgba(0,0,0,.2); }
h1 { font-size: 24px; font-weight: 600; margin: 0 0 16px; }
label { display: block; margin: 12px 0 4px; }
input[type=text], input[type=email], input[type=password] { width: 100%; box-sizing: border-box; padding: 6px 0; border: 0; border-bottom: 1px solid #666; font-size: 15px; }
button { margin-top: 24px; background: #0067b8; color: #fff; border: 0; padding: 8px 32px; font-size: 15px; cursor: pointer; }
.error { color: #e81123; margin: 8px 0; }
.app { color: #555; font-size: 13px; }
`;

/** Submits the form_post answer's form at once (a button remains for browsers without script). */
export const FORM_POST_SCRIPT = `'use strict';
document.getElementById('form-post').submit();
`;
