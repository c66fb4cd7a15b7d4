/** The bound-token endpoint under Better Auth's base path (`/api/auth`). */
export const DPOP_TOKEN_PATH = "/dpop/token";
