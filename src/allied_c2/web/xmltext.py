"""Request fields that become XML text: refused with 422 when XML 1.0 cannot carry them."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from allied_c2.cot.validation import check_xml_text

XmlText = Annotated[str, AfterValidator(check_xml_text)]
