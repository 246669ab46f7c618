// Finance > Accounting package setup: choosing another package or export format shows
// its options (the page again, with the choice in the address; nothing is saved).
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("setup-form");
  if (!form) return;
  for (const name of ["package", "export_format"]) {
    form.elements[name].addEventListener("change", () => {
      const query = new URLSearchParams({
        package: form.elements.package.value,
        export_format: form.elements.export_format.value,
      });
      if (form.elements.direct_transfer.checked) query.set("direct_transfer", "on");
      window.location.assign(`${form.dataset.url}?${query}`);
    });
  }
});
