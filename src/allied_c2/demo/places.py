"""Real places the demo's tracks move between: bases, ports, sea lanes and roads.

Approximate public map positions (WGS 84), good to a few hundred metres; the
roads are coarse waypoints along the named highways, not surveyed routes.
"""

from __future__ import annotations

from allied_c2.demo.geo import Point

WHITE_BEACH = Point(26.302, 127.912)
KURE = Point(34.231, 132.553)
FUTENMA = Point(26.274, 127.756)
KADENA = Point(26.356, 127.768)
NAHA_AB = Point(26.196, 127.646)
YOKOTA = Point(35.748, 139.348)
IRUMA = Point(35.842, 139.411)
KOMAKI = Point(35.255, 136.924)
CLARK = Point(15.186, 120.560)
VILLAMOR = Point(14.509, 121.020)
TUGUEGARAO_AIRPORT = Point(17.638, 121.731)
BASCO = Point(20.451, 121.980)
SUBIC = Point(14.801, 120.272)
SUBIC_MOUTH = Point(14.745, 120.205)
MANILA_SOUTH_HARBOR = Point(14.585, 120.958)
APARRI = Point(18.372, 121.628)
FORT_MAGSAYSAY = Point(15.433, 121.087)
TUGUEGARAO = Point(17.613, 121.727)
CLAVERIA = Point(18.607, 121.083)
LAOAG = Point(18.198, 120.594)
GAMU = Point(16.985, 121.823)  # 5th Infantry Division, Camp Melchor dela Cruz

# Sea lanes: Luzon's west coast and the Luzon Strait (Bashi and Balintang channels).
WEST_LUZON_COAST = (
    Point(16.400, 119.740),
    Point(17.560, 120.240),
    Point(18.560, 120.450),
    Point(18.700, 120.850),
)
LUZON_STRAIT_WEST = (Point(21.100, 120.950), Point(19.400, 120.100), Point(16.500, 119.700))

# Roads: the Maharlika Highway (AH26) up the Cagayan Valley, and the
# NLEX/SCTEX/TPLEX and Manila North Road up the west side.
CAGAYAN_VALLEY_ROAD = (
    FORT_MAGSAYSAY,
    Point(15.790, 120.991),  # San Jose, Nueva Ecija
    Point(16.157, 120.939),  # Santa Fe (Dalton Pass)
    Point(16.483, 121.149),  # Bayombong
    Point(16.688, 121.548),  # Santiago City
    Point(16.929, 121.772),  # Cauayan
    Point(17.148, 121.889),  # Ilagan
    TUGUEGARAO,
)
NORTH_CAGAYAN_ROAD = (
    TUGUEGARAO,
    Point(17.903, 121.657),  # Alcala
    Point(18.058, 121.645),  # Gattaran
    Point(18.201, 121.660),  # Lal-lo
    APARRI,
)
WEST_LUZON_ROAD = (
    Point(14.637, 121.028),  # AFP Medical Center, Quezon City
    Point(14.657, 121.001),  # Balintawak (NLEX)
    Point(15.030, 120.690),  # San Fernando, Pampanga
    Point(15.480, 120.590),  # Tarlac City
    Point(16.230, 120.490),  # Rosario, La Union (TPLEX)
    Point(16.616, 120.317),  # San Fernando, La Union
    Point(17.574, 120.387),  # Vigan
    LAOAG,
)
SUBIC_TO_LA_UNION = (
    SUBIC,
    Point(14.830, 120.283),  # Olongapo
    Point(15.010, 120.450),  # SCTEX
    Point(15.480, 120.590),  # Tarlac City
    Point(16.230, 120.490),  # Rosario
    Point(16.616, 120.317),  # San Fernando, La Union
)
