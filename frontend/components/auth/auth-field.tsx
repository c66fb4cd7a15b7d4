import { Field, inputClass } from "@/components/ui";

interface AuthFieldProps {
  /** `login` or `signup`: prefixes the input's id and data-testid (`login-email`, ...). */
  form: string;
  name: string;
  label: string;
  type: "text" | "email" | "password";
  autoComplete: string;
  value: string;
  error: string | undefined;
  hint?: string;
  onChange: (event: { target: { value: string } }) => void;
}

/** One labelled, required input of the sign-in and sign-up forms. */
export function AuthField({ form, name, label, type, autoComplete, value, error, hint, onChange }: AuthFieldProps) {
  const id = `${form}-${name}`;
  return (
    <Field id={id} label={label} error={error} testId={id} hint={hint}>
      {(props) => (
        <input
          {...props}
          type={type}
          name={name}
          autoComplete={autoComplete}
          required
          className={inputClass}
          value={value}
          onChange={onChange}
        />
      )}
    </Field>
  );
}
