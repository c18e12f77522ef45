// Small progressive enhancements; every page works without this file.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const target = document.querySelector(button.dataset.copy);
  const text = target ? (target.value ?? target.textContent).trim() : "";
  const done = () => {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
  } else if (target && target.select) {
    target.select();
    document.execCommand("copy");
    done();
  }
});

// Keep the page the user is on when switching teams: /t/<old>/<page>/ -> /t/<new>/<page>/.
document.addEventListener("click", (event) => {
  const link = event.target.closest("[data-switch-team]");
  if (!link) return;
  const match = window.location.pathname.match(/^\/t\/[0-9a-f-]{36}\/([a-z-]+)\//);
  if (match) {
    event.preventDefault();
    window.location.href = `/t/${link.dataset.switchTeam}/${match[1]}/`;
  }
});

// Close the team switcher when clicking elsewhere.
document.addEventListener("click", (event) => {
  document.querySelectorAll("details.team-switcher[open]").forEach((el) => {
    if (!el.contains(event.target)) el.removeAttribute("open");
  });
});

// The phone menu: the toggle opens it; the backdrop, Escape or following a link closes it.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-toggle-nav]")) {
    document.body.classList.toggle("nav-open");
  } else if (event.target.closest("[data-close-nav]")) {
    document.body.classList.remove("nav-open");
  }
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  document.body.classList.remove("nav-open");
  document.querySelectorAll("details.team-switcher[open]").forEach((el) => el.removeAttribute("open"));
});

// Catalog drop zones: dropping files (or choosing them) uploads them at once through the
// zone's form; without JavaScript the form's own button does the same.
document.querySelectorAll("[data-dropzone]").forEach((zone) => {
  const input = zone.querySelector("input[type=file]");
  if (!input) return;
  zone.classList.add("enhanced");
  const submit = () => {
    if (input.files.length) zone.requestSubmit();
  };
  ["dragenter", "dragover"].forEach((name) =>
    zone.addEventListener(name, (event) => {
      event.preventDefault();
      zone.classList.add("dragging");
    }),
  );
  ["dragleave", "dragend"].forEach((name) =>
    zone.addEventListener(name, (event) => {
      if (!zone.contains(event.relatedTarget)) zone.classList.remove("dragging");
    }),
  );
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    if (!event.dataTransfer || !event.dataTransfer.files.length) return;
    input.files = event.dataTransfer.files;
    submit();
  });
  input.addEventListener("change", submit);
  // Clear the chosen files once htmx has sent them, so the same file can be dropped again.
  zone.addEventListener("htmx:afterRequest", () => { input.value = ""; });
});

// Lightbox: result images open large over the page; ←/→ step through the job's variants,
// Escape or a click outside closes. Without JavaScript the link opens the full-size file.
(() => {
  let dialog = null;
  let items = [];
  let index = 0;
  const show = (i) => {
    index = (i + items.length) % items.length;
    const image = dialog.querySelector("img");
    image.src = items[index].href;
    image.alt = items[index].querySelector("img")?.alt || "";
    dialog.querySelector(".lightbox-count").textContent = `${index + 1} / ${items.length}`;
    dialog.classList.toggle("single", items.length < 2);
  };
  const build = () => {
    dialog = document.createElement("dialog");
    dialog.className = "lightbox";
    dialog.dataset.testid = "lightbox";
    dialog.setAttribute("aria-label", "Result viewer");
    dialog.innerHTML =
      '<button type="button" class="lightbox-close" aria-label="Close">×</button>' +
      '<button type="button" class="lightbox-prev" aria-label="Previous">‹</button>' +
      '<img alt="">' +
      '<button type="button" class="lightbox-next" aria-label="Next">›</button>' +
      '<span class="lightbox-count" data-testid="lightbox-count"></span>';
    document.body.append(dialog);
    dialog.addEventListener("click", (event) => {
      if (event.target.closest(".lightbox-prev")) show(index - 1);
      else if (event.target.closest(".lightbox-next")) show(index + 1);
      else if (event.target === dialog || event.target.closest(".lightbox-close")) dialog.close();
    });
    dialog.addEventListener("keydown", (event) => {
      if (event.key === "ArrowLeft") show(index - 1);
      else if (event.key === "ArrowRight") show(index + 1);
      else return;
      event.preventDefault();
    });
  };
  document.addEventListener("click", (event) => {
    const link = event.target.closest("[data-lightbox]");
    if (!link || event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    if (!dialog) build();
    items = [...document.querySelectorAll(`[data-lightbox="${link.dataset.lightbox}"]`)];
    show(items.indexOf(link));
    dialog.showModal();
  });
})();

// Jobs started from this browser are watched (localStorage, shared by tabs); the credit
// badge's poll sends their ids and answers with a toast for each that finished.
(() => {
  const KEY = "studio.watchedJobs";
  const read = () => {
    try {
      return JSON.parse(localStorage.getItem(KEY) || "[]");
    } catch {
      return [];
    }
  };
  const write = (ids) => localStorage.setItem(KEY, JSON.stringify(ids.slice(-50)));
  window.studioWatched = read;
  document.addEventListener("job-started", (event) => write([...read(), event.detail.id]));
  document.addEventListener("jobs-finished", (event) => {
    const done = new Set(event.detail.ids);
    write(read().filter((id) => !done.has(id)));
  });
  // While something is watched, ask a little more often than the badge's own 20 s.
  setInterval(() => {
    const badge = document.getElementById("credit-badge");
    if (badge && read().length && document.visibilityState === "visible" && window.htmx) {
      window.htmx.trigger(badge, "notices-check");
    }
  }, 4000);
})();
