"""Fixed lists of the domain: Morocco's 12 regions and the crafts (labels live in locales/)."""

from __future__ import annotations

# Regions since 2015, north to south (DOMAIN.md §4). Label key: ``region.<code>``.
REGIONS: tuple[str, ...] = (
    "TTA",  # Tanger-Tétouan-Al Hoceïma
    "ORI",  # L'Oriental
    "FM",  # Fès-Meknès
    "RSK",  # Rabat-Salé-Kénitra
    "BMK",  # Béni Mellal-Khénifra
    "CS",  # Casablanca-Settat
    "MS",  # Marrakech-Safi
    "DT",  # Drâa-Tafilalet
    "SM",  # Souss-Massa
    "GON",  # Guelmim-Oued Noun
    "LSH",  # Laâyoune-Sakia El Hamra
    "DOD",  # Dakhla-Oued Ed-Dahab
)

# Crafts (DOMAIN.md §3) plus "other" (free text). Label key: ``craft.<code>``.
CRAFTS: tuple[str, ...] = (
    "zellige",
    "pottery",
    "carpets",
    "weaving",
    "leather",
    "tanning",
    "babouches",
    "brassware",
    "ironwork",
    "jewellery",
    "joinery",
    "thuya",
    "plaster",
    "tadelakt",
    "embroidery",
    "tailoring",
    "basketry",
    "stone",
    "other",
)
