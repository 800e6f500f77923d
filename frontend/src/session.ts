// Sign-in with a bearer token (kept in sessionStorage) and the principal in the header.

import { ApiError, apiGet, getToken, setToken } from "./api";
import { h } from "./dom";
import { t } from "./i18n";
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
      placeholder: t("signin.placeholder"),
      autocomplete: "off",
      "data-testid": "signin-token",
      "aria-label": t("signin.token"),
    });
    this.error = h("span", { class: "signin-error", "data-testid": "signin-error" });
    this.form = h(
      "form",
      { class: "signin", "data-testid": "signin-form" },
      this.input,
      h("button", { type: "submit", "data-testid": "signin-submit" }, t("signin.submit")),
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
          ? t("signin.refused")
          : t("signin.failed", { why: err instanceof Error ? err.message : String(err) });
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
        h("span", { class: "who-callsign", translate: "no" }, p.callsign),
        h("span", { class: `nation nation-${p.nation ?? "NONE"}`, translate: "no" }, p.nation ?? "—"),
        h("span", { class: "who-clearance", translate: "no" }, p.clearance),
        p.organisation ? h("span", { class: "who-org", translate: "no" }, p.organisation) : null,
        p.roles?.length ? h("span", { class: "who-roles", translate: "no" }, p.roles.join(" ")) : null,
      ),
      h("button", { class: "ghost", "data-testid": "signout", onclick: () => this.signOut() }, t("signin.signout")),
    );
  }
}
