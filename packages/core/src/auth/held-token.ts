/** One access token the server holds, with the label that names it in logs and cache keys. */
export interface HeldToken {
  /** A name for logs and metrics; never the token. */
  label: string;
  /** The ChatGPT access token (the `accessToken` of `/api/auth/session`). */
  token: string;
}
