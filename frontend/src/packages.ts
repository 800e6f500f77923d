// Files and data packages in the side panel (issue 12): the list the server lets the
// signed-in user see (GET /api/v1/packages, each through the server's audience
// decision), upload with a marking from the server's picker (only markings the user may
// originate), download and delete. An admin can download a user's connection data
// package (ATAK/WinTAK or iTAK; enrollment or client certificate).

import { apiBlob, apiDelete, apiGet, getToken } from "./api";
import { h, testId } from "./dom";
import { t } from "./i18n";
import { markingClass } from "./marking";
import { MarkingPicker } from "./markingpicker";
import type { Marking, Principal } from "./types";

interface Package {
  Hash: string;
  Name: string;
  Filename: string;
  Size: number;
  SubmissionUser: string;
  SubmissionDateTime: string;
  Tool: string;
  Marking: Marking;
  mayDelete: boolean;
}

interface Listing {
  banner: string;
  packages: Package[];
}

function save(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1 << 20) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

export class PackagesPanel {
  readonly el: HTMLElement;
  private readonly list = h("div", { class: "packages-list", "data-testid": "packages-list" });
  private readonly error = h("div", { class: "error", "data-testid": "packages-error" });
  private readonly file: HTMLInputElement;
  private readonly picker = new MarkingPicker("package-marking");
  private readonly tool: HTMLSelectElement;
  private readonly admin: HTMLElement;
  private packages: Package[] = [];

  constructor(
    private readonly me: () => Principal | null,
    private readonly onChange: () => void,
  ) {
    // The browser's own file button speaks the browser's language, not the page's: it is
    // hidden inside a label of ours, with the chosen file's name beside it.
    this.file = h("input", { type: "file", class: "file-input", "data-testid": "package-file", "aria-label": t("packages.file") });
    const chosenName = h("span", { class: "file-name", translate: "no" }, t("packages.nofile"));
    this.file.addEventListener("change", () => {
      chosenName.textContent = this.file.files?.[0]?.name ?? t("packages.nofile");
    });
    const picker = h("label", { class: "file-pick" }, this.file, h("span", { class: "file-button" }, t("packages.pick")), chosenName);
    this.tool = h(
      "select",
      { "data-testid": "package-tool", "aria-label": t("packages.tool") },
      h("option", { value: "public" }, t("packages.tool.public")),
      h("option", { value: "private" }, t("packages.tool.private")),
    );
    const form = h(
      "form",
      { class: "packages-upload" },
      picker,
      h("label", { class: "field" }, h("span", {}, t("packages.marking")), this.picker.el),
      h("label", { class: "field" }, h("span", {}, t("packages.tool")), this.tool),
      h("button", { type: "submit", "data-testid": "package-upload" }, t("packages.upload")),
    );
    form.addEventListener("submit", (e: Event) => {
      e.preventDefault();
      void this.upload();
    });
    this.admin = this.adminForm();
    this.el = h("section", { class: "packages", "data-testid": "packages" }, form, this.error, this.list, this.admin);
  }

  /** The markings shown in the panel, for the page banner. */
  get markings(): Marking[] {
    return this.packages.map((p) => p.Marking);
  }

  async load(): Promise<void> {
    const isAdmin = this.me()?.roles?.includes("admin") ?? false;
    this.admin.hidden = !isAdmin;
    void this.picker.load(this.picker.value); // the signed-in user's markings, not the last one's
    try {
      const body = await apiGet<Listing>("/api/v1/packages");
      this.packages = body.packages;
      this.error.textContent = "";
    } catch (err) {
      this.packages = [];
      this.error.textContent = String(err);
    }
    this.render();
    this.onChange();
  }

  private render(): void {
    if (this.packages.length === 0) {
      this.list.replaceChildren(h("p", { class: "empty" }, t("packages.none")));
      return;
    }
    this.list.replaceChildren(
      ...this.packages.map((p) =>
        h(
          "div",
          { class: "package", "data-testid": `package-${testId(p.Hash.slice(0, 12))}` },
          h("span", { class: `portion ${markingClass(p.Marking)}`, translate: "no" }, p.Marking.portion),
          h("span", { class: "package-name", translate: "no" }, p.Name),
          h("span", { class: "package-meta" }, `${size(p.Size)} · ${p.SubmissionUser} · ${p.Tool}`),
          h("button", { type: "button", "data-testid": "package-download", onclick: () => void this.download(p) }, t("packages.download")),
          p.mayDelete
            ? h("button", { type: "button", "data-testid": "package-delete", onclick: () => void this.remove(p) }, t("packages.delete"))
            : null,
        ),
      ),
    );
  }

  private async upload(): Promise<void> {
    const chosen = this.file.files?.[0];
    const marking = this.picker.value;
    if (!chosen || !marking) {
      this.error.textContent = t("packages.choose");
      return;
    }
    const body = new FormData();
    body.append("assetfile", chosen, chosen.name);
    const query = new URLSearchParams({ name: chosen.name, marking, tool: this.tool.value });
    const token = getToken();
    const response = await fetch(`/api/v1/packages?${query.toString()}`, {
      method: "POST",
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      body,
    });
    if (!response.ok) {
      this.error.textContent = `${t("packages.refused")}: ${response.status} ${await response.text()}`;
      return;
    }
    this.file.value = "";
    this.file.dispatchEvent(new Event("change")); // the name beside it goes too
    await this.load();
  }

  private async download(p: Package): Promise<void> {
    try {
      save(await apiBlob(`/api/v1/packages/${p.Hash}`), p.Filename || p.Name);
    } catch (err) {
      this.error.textContent = String(err);
    }
  }

  private async remove(p: Package): Promise<void> {
    try {
      await apiDelete(`/api/v1/packages/${p.Hash}`);
    } catch (err) {
      this.error.textContent = String(err);
    }
    await this.load();
  }

  private adminForm(): HTMLElement {
    const callsign = h("input", { "data-testid": "cp-callsign", placeholder: t("packages.cp.callsign"), "aria-label": t("packages.cp.callsign") });
    const host = h("input", { "data-testid": "cp-host", placeholder: t("packages.cp.host"), "aria-label": t("packages.cp.host"), value: location.hostname });
    const enroll = h("input", { type: "checkbox", "data-testid": "cp-enroll", checked: true });
    const itak = h("input", { type: "checkbox", "data-testid": "cp-itak" });
    const form = h(
      "form",
      { class: "connection-package", "data-testid": "connection-package" },
      h("h3", {}, t("packages.cp.title")),
      callsign,
      host,
      h("label", {}, enroll, t("packages.cp.enroll")),
      h("label", {}, itak, "iTAK"),
      h("button", { type: "submit", "data-testid": "cp-download" }, t("packages.cp.download")),
    );
    form.addEventListener("submit", (e: Event) => {
      e.preventDefault();
      const query = new URLSearchParams({ host: host.value, enroll: String(enroll.checked), itak: String(itak.checked) });
      const who = encodeURIComponent(callsign.value.trim());
      apiBlob(`/api/v1/users/${who}/connection-package?${query.toString()}`)
        .then((blob) => save(blob, `${callsign.value.trim()}${itak.checked ? "-itak" : ""}.zip`))
        .catch((err: unknown) => {
          this.error.textContent = String(err);
        });
    });
    form.hidden = true;
    return form;
  }
}
