// Sign-in with a bearer token (kept in sessionStorage) and the principal in the header.

import { ApiError, apiGet, getToken, setToken } from "./api";
import { h } from "./dom";
import type { Principal } from "./types";

export class Session {
  readonly el: HTMLElement;
  principal: Principal | null = null;
  private readonly form: HTMLFormElement;
  private readonly input: HTMLInputElement;
  private readonly who: HTMLElement;
  private readonly error: HTMLElement;

  constructor(private readonly onChange: (token: string | null) => void) {
    this.input = h("input", {
      type: "password",
      placeholder: "bearer token",
      autocomplete: "off",
      "data-testid": "signin-token",
      "aria-label": "Bearer token",
    });
    this.error = h("span", { class: "signin-error", "data-testid": "signin-error" });
    this.form = h(
      "form",
      { class: "signin", "data-testid": "signin-form" },
      this.input,
      h("button", { type: "submit", "data-testid": "signin-submit" }, "Sign in"),
      this.error,
    );
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.signIn(this.input.value.trim());
    });
    this.who = h("div", { class: "who hidden" });
    this.el = h("div", { class: "session" }, this.who, this.form);
  }

  /** Restore the session from sessionStorage (or stay anonymous). */
  async restore(): Promise<void> {
    const token = getToken();
    if (token && !(await this.check(token))) setToken(null);
    this.render();
  }

  async signIn(token: string): Promise<void> {
    if (!token) return;
    if (!(await this.check(token))) return;
    setToken(token);
    this.input.value = "";
    this.render();
    this.onChange(token);
  }

  signOut(): void {
    setToken(null);
    this.principal = null;
    this.render();
    this.onChange(null);
  }

  private async check(token: string): Promise<boolean> {
    try {
      this.principal = await apiGet<Principal>("/api/v1/whoami", token);
      this.error.textContent = "";
      return true;
    } catch (err) {
      this.principal = null;
      this.error.textContent =
        err instanceof ApiError && (err.status === 401 || err.status === 403)
          ? "Token refused"
          : `Sign-in failed: ${err instanceof Error ? err.message : String(err)}`;
      return false;
    }
  }

  private render(): void {
    const p = this.principal;
    this.form.classList.toggle("hidden", p !== null);
    this.who.classList.toggle("hidden", p === null);
    if (!p) {
      this.who.replaceChildren();
      return;
    }
    this.who.replaceChildren(
      h(
        "div",
        { class: "whoami", "data-testid": "whoami" },
        h("span", { class: "who-callsign" }, p.callsign),
        h("span", { class: `nation nation-${p.nation ?? "NONE"}` }, p.nation ?? "—"),
        h("span", { class: "who-clearance" }, p.clearance),
        p.organisation ? h("span", { class: "who-org" }, p.organisation) : null,
        p.roles?.length ? h("span", { class: "who-roles" }, p.roles.join(" ")) : null,
      ),
      h("button", { class: "ghost", "data-testid": "signout", onclick: () => this.signOut() }, "Sign out"),
    );
  }
}
