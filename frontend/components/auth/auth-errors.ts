export interface AuthClientError {
  status: number;
  code?: string | undefined;
  message?: string | undefined;
}

/** One message for any failed sign-in: it must not reveal whether the account exists. */
export function signInErrorMessage(error: AuthClientError): string {
  if (error.status === 429) return "Too many attempts. Please wait a minute and try again.";
  if (error.status === 401 || error.status === 400 || error.status === 403 || error.status === 422) {
    return "Invalid email or password.";
  }
  if (error.status === 0 || error.status >= 500) return "Could not reach the sign-in service. Please try again.";
  return "Invalid email or password.";
}

export function signUpErrorMessage(error: AuthClientError): string {
  if (error.status === 429) return "Too many attempts. Please wait a minute and try again.";
  if (error.code === "USER_ALREADY_EXISTS" || error.code === "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL") {
    return "Could not create an account with this email. Try signing in instead.";
  }
  if (error.status === 0 || error.status >= 500) return "Could not reach the sign-up service. Please try again.";
  return error.message ?? "Could not create the account. Please check the form.";
}
