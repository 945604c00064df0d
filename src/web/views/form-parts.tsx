/** Pieces that many forms share: the page of one panel, the current-password field, the submit-or-leave buttons. */
import type { ComponentChildren, JSX } from 'preact';
import { PlainLayout } from './components.tsx';

/**
 * A page that is one panel in the plain layout (signing in, two-step verification, passwords): an optional
 * eyebrow, the title, an optional lead, then the panel's content.
 */
export function PanelPage(props: {
  width: 'narrow' | 'normal';
  eyebrow?: ComponentChildren;
  title: ComponentChildren;
  lead?: ComponentChildren;
  children: ComponentChildren;
}): JSX.Element {
  return (
    <PlainLayout width={props.width}>
      <div class="panel">
        {props.eyebrow === undefined ? null : <p class="eyebrow">{props.eyebrow}</p>}
        <h1 class="panel-title">{props.title}</h1>
        {props.lead === undefined ? null : <p class="panel-lead">{props.lead}</p>}
        {props.children}
      </div>
    </PlainLayout>
  );
}

/** The field for the password someone signs in with; marked invalid, and pointing at the error, when the form was refused. */
export function CurrentPasswordField({ id, invalid, errorId }: { id: string; invalid: boolean; errorId: string }): JSX.Element {
  return (
    <div class="field">
      <label for={id}>Password</label>
      <input
        id={id}
        name="password"
        type="password"
        required
        autocomplete="current-password"
        aria-invalid={invalid ? 'true' : undefined}
        aria-describedby={invalid ? errorId : undefined}
      />
    </div>
  );
}

/** A form's buttons: the primary submit, and a quiet link away from the form ("Cancel" unless told). */
export function SubmitOrLeave({ submit, href, leave = 'Cancel' }: { submit: string; href: string; leave?: string }): JSX.Element {
  return (
    <div class="form-actions">
      <button type="submit" class="button button-primary">
        {submit}
      </button>
      <a class="button button-quiet" href={href}>
        {leave}
      </a>
    </div>
  );
}
